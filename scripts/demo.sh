#!/usr/bin/env bash
# Installs everything, seeds the demo users and site, and serves the demo on one daphne process.
# Usage: scripts/demo.sh [PORT]   (default 8000; binds 127.0.0.1 unless HOST is set)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${1:-${PORT:-8000}}
HOST=${HOST:-127.0.0.1}
# Development mode, with the built-in (public) secret key: a demo, not a deployment.
export DEBUG=${DEBUG:-true}

scripts/install.sh
.venv/bin/python manage.py seed_demo --origin "http://127.0.0.1:${PORT}" --origin "http://localhost:${PORT}"
echo
echo "==> Serving on http://${HOST}:${PORT}/  (Ctrl-C to stop)"
echo "    Customer: open http://127.0.0.1:${PORT}/demo/ and click Start Co-browse"
echo "    Agent:    open http://localhost:${PORT}/workspace/ in another window (log in as agent1)"
echo "    Webhooks: sent by manage.py deliver_webhooks, started beside daphne (docs/integrations.md)"
# The webhook worker, in the background; stopped when the demo stops.
.venv/bin/python manage.py deliver_webhooks --interval 0.5 &
WEBHOOKS_PID=$!
trap 'kill "$WEBHOOKS_PID" 2>/dev/null || true' EXIT
.venv/bin/daphne -b "$HOST" -p "$PORT" cobrowse.asgi:application
