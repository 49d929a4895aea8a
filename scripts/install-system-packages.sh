#!/usr/bin/env bash
# Installs the Debian packages that the native run (`make run`), the tests and the benchmark use, for
# each command that is missing: PostgreSQL server, Prometheus + promtool, Alertmanager, nginx, Chromium
# (driven by Playwright, which never downloads a browser here), wrk and npm (installs the browser tests'
# pinned axe-core). Idempotent; needs root or sudo only when something is missing.
set -euo pipefail

# "<command or path glob> <package>"
NEEDED=(
    "/usr/lib/postgresql/*/bin/postgres postgresql"
    "prometheus prometheus"
    "promtool prometheus"
    "prometheus-alertmanager prometheus-alertmanager"
    "nginx nginx"
    "chromium chromium"
    "wrk wrk"
    "npm npm"
    "openssl openssl"
)

present() {
    case "$1" in
        /*) compgen -G "$1" >/dev/null ;;
        *) command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] ;;
    esac
}

missing=()
for entry in "${NEEDED[@]}"; do
    read -r probe package <<<"$entry"
    present "$probe" || [[ " ${missing[*]} " == *" $package "* ]] || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-system-packages: need root to install ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when apt does not know the packages yet.
apt-cache show "${missing[@]}" >/dev/null 2>&1 || $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Where an init system runs, packages may start their daemons; the platform runs its own instances.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    for unit in nginx prometheus prometheus-alertmanager postgresql; do
        $SUDO systemctl disable --now "$unit" >/dev/null 2>&1 || true
    done
fi
for entry in "${NEEDED[@]}"; do
    read -r probe package <<<"$entry"
    present "$probe" || { echo "install-system-packages: $probe still missing after installing $package" >&2; exit 1; }
done
