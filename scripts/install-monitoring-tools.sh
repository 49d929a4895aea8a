#!/usr/bin/env bash
# Install the monitoring tools the platform's checks and local run use (Debian packages):
#   prometheus + promtool, prometheus-alertmanager (+ amtool).
# Idempotent: does nothing when every command is already on PATH. Needs root (or sudo) to install.
set -euo pipefail

want=()
command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || want+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || want+=(prometheus-alertmanager)

if [ "${#want[@]}" -eq 0 ]; then
    echo "monitoring tools present: $(command -v prometheus) $(command -v promtool) $(command -v prometheus-alertmanager)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "install-monitoring-tools: need root to apt-get install ${want[*]}" >&2
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
# The Debian package may start a daemon where an init system runs; we never want it listening on 9090.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now prometheus prometheus-node-exporter prometheus-alertmanager >/dev/null 2>&1 || true
fi
command -v promtool >/dev/null && command -v prometheus >/dev/null && command -v prometheus-alertmanager >/dev/null
echo "monitoring tools installed: $(promtool --version 2>&1 | head -n1)"
