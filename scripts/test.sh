#!/usr/bin/env bash
# Installs everything (including redis-server and chromium when missing), checks the code (ruff,
# mypy, ESLint: any finding fails the run) and runs the whole suite: model, service, API and
# consumer tests (in-memory and real Redis), then end-to-end tests in headless Chromium against a
# live daphne server. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# msgfmt compiles the translations (scripts/install.sh); tests/test_translations.py runs xgettext.
command -v msgfmt >/dev/null 2>&1 || missing+=(gettext)
# tests/e2e/test_faults.py runs a private PostgreSQL 15 server (Debian 12's postgresql is 15).
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql)
# tests/e2e/test_scale_out.py puts nginx (docs/operations.md's configuration) before two workers.
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> Installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

scripts/install.sh
rm -rf test-artifacts && mkdir -p test-artifacts
echo "==> Lint and format check (ruff)"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> Type check (mypy with django-stubs)"
# The Django plugin imports the settings; DEBUG on lets them load without a production SECRET_KEY.
DEBUG=true .venv/bin/mypy
echo "==> Lint the browser code (ESLint)"
npm run --silent lint
exec .venv/bin/pytest "$@"
