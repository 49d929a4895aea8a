#!/usr/bin/env bash
# Installs what running and testing the platform natively needs, on a fresh Debian machine:
# system packages (scripts/install-system-packages.sh) and a Python virtualenv in .venv. Idempotent and quick when
# nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-system-packages.sh

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.requirements.sha
wanted=$(cat requirements-dev.txt services/*/requirements.txt services/common/pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "bootstrap: installing Python dependencies"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$wanted" >"$stamp"
fi

# The browser tests' pinned axe-core (tests/browser/package-lock.json), again only when the lock changed.
axe_stamp=tests/browser/node_modules/.lock.sha
axe_wanted=$(sha256sum tests/browser/package-lock.json | cut -d' ' -f1)
if [ "$(cat "$axe_stamp" 2>/dev/null)" != "$axe_wanted" ]; then
  echo "bootstrap: installing the browser tests' axe-core (npm ci)"
  (cd tests/browser && npm ci --silent --no-audit --no-fund)
  echo "$axe_wanted" >"$axe_stamp"
fi
