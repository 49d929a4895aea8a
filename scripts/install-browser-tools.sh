#!/usr/bin/env bash
# Install what the web UI needs natively and what its browser tests drive (Debian packages):
#   nginx (serves services/web-ui/static and proxies /api/v1 to the services),
#   chromium (headless browser for the Playwright tests; Playwright never downloads its own).
# Idempotent: does nothing when both commands are already on PATH. Needs root (or sudo) to install.
set -euo pipefail

want=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || want+=(nginx)
command -v chromium >/dev/null 2>&1 || want+=(chromium)

if [ "${#want[@]}" -eq 0 ]; then
    echo "browser tools present: $(command -v nginx || echo /usr/sbin/nginx) $(command -v chromium)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "install-browser-tools: need root to apt-get install ${want[*]}" >&2
        exit 1
    fi
fi

echo "installing ${want[*]} (Debian packages)"
export DEBIAN_FRONTEND=noninteractive
# Only refresh the package lists when apt does not know the packages yet.
if ! apt-cache show "${want[@]}" >/dev/null 2>&1; then
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
fi
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${want[@]}" >/dev/null
# Where an init system runs, the package may start nginx on :80; the platform runs its own instances.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
fi
{ command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; } && command -v chromium >/dev/null
echo "browser tools installed: $(/usr/sbin/nginx -v 2>&1) $(chromium --version 2>/dev/null || true)"
