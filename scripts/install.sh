#!/usr/bin/env bash
# Installs everything the project needs into .venv and node_modules, builds the browser bundles
# and migrates the database. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> Creating .venv"
  "$PYTHON" -m venv .venv
fi
echo "==> Installing Python packages"
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt

echo "==> Installing and building the browser bundles (rrweb, esbuild)"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
npm run --silent build

echo "==> Compiling the translations (locale/*/LC_MESSAGES/django.po, gettext's msgfmt)"
if command -v msgfmt >/dev/null 2>&1; then
  DEBUG=${DEBUG:-true} .venv/bin/python manage.py compilemessages --ignore=.venv --ignore=node_modules >/dev/null
else  # the pages still work, in English only
  echo "    msgfmt not found: install gettext (apt-get install gettext) for German, French and Spanish"
fi

echo "==> Migrating the database"
# Migrating needs no secret key: unless DEBUG is set, migrate in development mode, so that a fresh
# checkout installs without any configuration (the server refuses the built-in key without DEBUG).
DEBUG=${DEBUG:-true} .venv/bin/python manage.py migrate --noinput >/dev/null
