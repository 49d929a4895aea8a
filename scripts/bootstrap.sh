#!/usr/bin/env bash
# Installs what running and testing the platform natively needs, on a fresh Debian machine:
# system packages (PostgreSQL server, ...) and a Python virtualenv in .venv. Idempotent and quick when
# nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(postgresql)
missing=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
for package in "${APT_PACKAGES[@]:1}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

bash scripts/install-monitoring-tools.sh
bash scripts/install-browser-tools.sh

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.requirements.sha
wanted=$(cat requirements-dev.txt services/*/requirements.txt services/common/pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "bootstrap: installing Python dependencies"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$wanted" >"$stamp"
fi
