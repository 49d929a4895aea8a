#!/usr/bin/env bash
# CI/CD pipeline of the incident platform (SPEC.md §9):
#
#   Quality → Security → Build → Scan → Test → Deploy → Verify
#
#   ./run-pipeline.sh                 all stages, stops at the first failure (non-zero exit)
#   ./run-pipeline.sh quality         one stage by name (several names run in the given order)
#   ./run-pipeline.sh --list          the stages and what they do
#
# Engines: with a Docker engine, Build/Deploy use it. Without one (these machines), they use podman
# when its Docker-API socket answers (`scripts/compose-on-podman.sh --keep` leaves it running);
# otherwise Build/Scan report a skip and Deploy/Verify run the platform natively (`make run` in the
# background). `./run-pipeline.sh stop` ends whatever Deploy left running: the native run (its whole
# process group), or the compose stack, the podman healthcheck loop and the podman socket.
# Environment: PIPELINE_ENGINE=auto|docker|podman|none, VERIFY_TIMEOUT (s), PIPELINE_SKIP_AUDIT=1.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/pipeline/lib.sh
source "$ROOT/scripts/pipeline/lib.sh"
cd "$ROOT" || exit 1

STAGES=(quality security build scan test deploy verify)
declare -A STAGE_HELP=(
    [quality]="ruff lint + ruff format --check + make test (coverage gate) + duplication < 3 % (jscpd)"
    [security]="secret scan (detect-secrets, same hook as pre-commit) + dependency audit (pip-audit)"
    [build]="build every image, tagged with the commit SHA and latest"
    [scan]="image vulnerability scan (Trivy/Grype when installed) + hadolint on every Dockerfile"
    [test]="API tests over HTTP against the services running as real processes (tests/e2e) + delivery tests"
    [deploy]="docker compose down -> up -d (native: make run in the background)"
    [verify]="every /health ready, Prometheus targets up, smoke alert -> incident, metric moved; rollback on failure"
)
NATIVE_PID="$STATE_DIR/make-run.pid"
NATIVE_LOG="$STATE_DIR/make-run.log"
DUPLICATION_MAX="${DUPLICATION_MAX:-3}"

# ---------------------------------------------------------------- quality
stage_quality() {
    ensure_tools || return 1
    say "-- ruff check"
    ruff check . || return 1
    say "-- ruff format --check"
    ruff format --check . || return 1
    say "-- make test (unit, integration, e2e; coverage gate inside)"
    make test || return 1
    say "-- duplication (jscpd $JSCPD_VERSION, threshold ${DUPLICATION_MAX} %)"
    check_duplication
}

check_duplication() {
    ensure_jscpd || return 1
    local out="$STATE_DIR/jscpd"
    rm -rf "$out"
    "$JSCPD" --silent --format python,bash,javascript --threshold "$DUPLICATION_MAX" \
        --ignore '**/.local/**,**/.venv/**,**/node_modules/**,**/__pycache__/**' \
        --reporters json,console --output "$out" services scripts tests bench run-pipeline.sh
    local rc=$?
    python3 - "$out/jscpd-report.json" "$DUPLICATION_MAX" <<'PY' || rc=1
import json, sys
total = json.load(open(sys.argv[1]))["statistics"]["total"]
print(f"duplication: {total['percentage']:.2f} % of {total['lines']} lines in {total['sources']} files "
      f"({total['clones']} clones); limit {sys.argv[2]} %")
sys.exit(0 if total["percentage"] < float(sys.argv[2]) else 1)
PY
    return "$rc"
}

# ---------------------------------------------------------------- security
stage_security() {
    ensure_tools || return 1
    say "-- secret scan (detect-secrets, baseline scripts/pipeline/secrets.baseline)"
    secret_scan || return 1
    say "-- dependency vulnerability audit (pip-audit)"
    dependency_audit
}

secret_scan() {
    local files=() baseline=scripts/pipeline/secrets.baseline scratch="$STATE_DIR/secrets.baseline" rc
    mapfile -t files < <(repo_files | grep -v -x "$baseline")
    say "scanning ${#files[@]} files"
    # The hook rewrites the baseline it is given when only line numbers moved (exit 3), and refuses a
    # baseline with unstaged changes (exit 1): give it a scratch copy so that the pipeline neither
    # edits the tree nor depends on the git index. New secrets still exit 1 and are listed.
    cp "$baseline" "$scratch"
    local out
    out="$(detect-secrets-hook --baseline "$scratch" "${files[@]}" 2>&1)"
    rc=$?
    case "$rc" in
        0) say "no new secrets" ;;
        3)
            say "no new secrets (the baseline's line numbers are out of date; refresh them with"
            say "  detect-secrets scan --baseline $baseline \$(git ls-files))"
            rc=0 ;;
        *)
            printf '%s\n' "$out"
            say "secret scan FAILED: remove the secret (or, for a false positive, audit it into the baseline:"
            say "  detect-secrets scan --baseline $baseline && detect-secrets audit $baseline)" ;;
    esac
    return "$rc"
}

dependency_audit() {
    if [[ "${PIPELINE_SKIP_AUDIT:-0}" == 1 ]]; then
        skip "dependency audit (PIPELINE_SKIP_AUDIT=1)"
        return 0
    fi
    local reqs=() r out rc
    for r in services/*/requirements.txt; do reqs+=(--requirement "$r"); done
    out="$STATE_DIR/pip-audit.txt"
    pip-audit --no-deps --disable-pip --progress-spinner off "${reqs[@]}" >"$out" 2>&1
    rc=$?
    grep -v -E '^WARNING:pip_audit._cli' "$out"
    if grep -q 'could not be audited' "$out" && ! grep -q -E '^[a-zA-Z0-9_.-]+ +[0-9].* (PYSEC|GHSA|CVE)-' "$out"; then
        local audited
        audited="$(grep -c -v -E 'could not be audited|^Name|^----|^WARNING|^No known|^$' "$out" || true)"
        if [[ "$audited" == 0 ]]; then
            skip "dependency audit: pip-audit could not reach a vulnerability database from this network"
            skip "(PyPI's per-release JSON API and OSV are unreachable here); no package was audited"
            return 0
        fi
    fi
    return "$rc"
}

# ---------------------------------------------------------------- build
stage_build() {
    local engine sha
    engine="$(detect_engine)"
    sha="$(git_sha)"
    if [[ "$engine" == none ]]; then
        skip "build: no Docker engine here and no podman socket answering (scripts/compose-on-podman.sh --keep"
        skip "prepares one); images were NOT built"
        return 0
    fi
    ensure_tools || return 1
    say "engine: $engine, tags: $sha and latest"
    local s format=()
    # podman: --format docker keeps HEALTHCHECK in the image (the OCI format drops it).
    [[ "$engine" == podman ]] && format=(--format docker)
    for s in "${SERVICES[@]}"; do
        "$engine" build "${format[@]}" -f "services/$s/Dockerfile" \
            -t "incident-platform/$s:$sha" -t "incident-platform/$s:latest" . || return 1
    done
    "$engine" images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "incident-platform/.*:($sha|latest)"
    printf '%s\n' "$sha" >"$STATE_DIR/built-sha"
}

# ---------------------------------------------------------------- scan
stage_scan() {
    ensure_tools || return 1
    say "-- hadolint -t warning"
    local f rc=0
    for f in services/*/Dockerfile; do
        if hadolint -t warning "$f"; then say "  ok   $f"; else say "  FAIL $f"; rc=1; fi
    done
    [[ "$rc" == 0 ]] || return 1
    say "-- image vulnerability scan"
    local engine sha scanner=""
    engine="$(detect_engine)"
    sha="$(cat "$STATE_DIR/built-sha" 2>/dev/null || true)"
    command -v grype >/dev/null && scanner=grype
    command -v trivy >/dev/null && scanner=trivy
    if [[ -z "$scanner" ]]; then
        skip "image scan: neither Trivy nor Grype is installed (neither is on PyPI/npm/Debian, the only"
        skip "registries reachable here, and both need an online vulnerability DB)"
        return 0
    fi
    if [[ "$engine" == none || -z "$sha" ]]; then
        skip "image scan: no images were built in this environment"
        return 0
    fi
    local s
    for s in "${SERVICES[@]}"; do
        case "$scanner" in
            trivy) trivy image --exit-code 1 --severity CRITICAL "incident-platform/$s:$sha" || return 1 ;;
            grype) grype "incident-platform/$s:$sha" --fail-on critical || return 1 ;;
        esac
    done
}

# ---------------------------------------------------------------- test
stage_test() {
    ensure_tools || return 1
    local py="python3"
    [[ -x "$ROOT/.venv/bin/python" ]] && py="$ROOT/.venv/bin/python"
    say "-- API tests over real HTTP against the services as processes (tests/e2e) and delivery tests"
    "$py" -m pytest -q -p no:cacheprovider tests/e2e tests/delivery
}

# ---------------------------------------------------------------- deploy
stage_deploy() {
    local engine sha
    engine="$(detect_engine)"
    if [[ "$engine" == none ]]; then
        say "no container engine: deploying natively with \`make run\` in the background (NOT docker compose)"
        native_stop
        native_start
        return $?
    fi
    sha="$(cat "$STATE_DIR/built-sha" 2>/dev/null || git_sha)"
    say "engine $engine: docker compose down -> up -d with IMAGE_TAG=$sha"
    [[ "$engine" == podman ]] && podman_health_loop_start
    compose down --remove-orphans || return 1
    IMAGE_TAG="$sha" compose up -d --wait --no-build $(deploy_services "$engine") || return 1
    printf '%s\n' "$sha" >"$STATE_DIR/deployed-sha"
}

# Services to start: all of them, except Grafana on podman (no local stand-in image exists for it).
deploy_services() {
    if [[ "$1" == podman ]]; then
        echo "database ${SERVICES[*]} prometheus"
        say "podman: Grafana is left out (no local stand-in image for it)" >&2
    fi
}

native_stop() {
    if [[ -f "$NATIVE_PID" ]] && kill -0 "$(cat "$NATIVE_PID")" 2>/dev/null; then
        say "stopping the previous native run (pid $(cat "$NATIVE_PID"))"
        kill -INT -- "-$(cat "$NATIVE_PID")" 2>/dev/null || kill -INT "$(cat "$NATIVE_PID")"
        local i
        for i in $(seq 1 30); do kill -0 "$(cat "$NATIVE_PID")" 2>/dev/null || break; sleep 1; done
    fi
    rm -f "$NATIVE_PID"
}

native_start() {
    local port busy=()
    for port in 8001 8002 8003 8004 8080 9090; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then busy+=("$port"); fi
    done
    if ((${#busy[@]})); then
        say "ports already in use by something else: ${busy[*]} (stop it first)"
        return 1
    fi
    setsid nohup make run >"$NATIVE_LOG" 2>&1 </dev/null &
    echo $! >"$NATIVE_PID"
    say "make run started (pid $(cat "$NATIVE_PID"), log $NATIVE_LOG); stop with: ./run-pipeline.sh stop"
}

# ---------------------------------------------------------------- verify
stage_verify() {
    local engine
    engine="$(detect_engine)"
    # Host port 8002 is incident-management both natively and under compose (where the gateway
    # container serves it for every replica).
    if python3 "$ROOT/scripts/pipeline/verify.py" --timeout "${VERIFY_TIMEOUT:-180}" \
        --health alert-ingestion=http://127.0.0.1:8001/health --health incident-management=http://127.0.0.1:8002/health \
        --health oncall-service=http://127.0.0.1:8003/health --health notification-service=http://127.0.0.1:8004/health \
        --health http://127.0.0.1:8080/health --health http://127.0.0.1:9090/-/ready \
        --prometheus http://127.0.0.1:9090 --alerts http://127.0.0.1:8001 --gateway http://127.0.0.1:8080; then
        [[ "$engine" != none ]] && cp "$STATE_DIR/deployed-sha" "$STATE_DIR/last-good-sha" 2>/dev/null
        return 0
    fi
    say "VERIFY FAILED"
    rollback "$engine"
    return 1
}

rollback() {
    local engine="$1" previous
    if [[ "$engine" == none ]]; then
        say "ROLLBACK: native run has no images to roll back to; stopping the failed deployment"
        native_stop
        return
    fi
    previous="$(cat "$STATE_DIR/last-good-sha" 2>/dev/null || true)"
    if [[ -z "$previous" ]]; then
        say "ROLLBACK: no previously verified SHA recorded; leaving the failed deployment for inspection"
        return
    fi
    say "ROLLBACK: verify failed, redeploying the previous verified images IMAGE_TAG=$previous"
    compose down --remove-orphans
    IMAGE_TAG="$previous" compose up -d --wait --no-build $(deploy_services "$engine") && printf '%s\n' "$previous" >"$STATE_DIR/deployed-sha"
}

# ---------------------------------------------------------------- runner
run_stage() {
    local name="$1" index="$2" total="$3" start rc
    printf '\n==> [%s/%s] %s — %s\n' "$index" "$total" "${name^^}" "${STAGE_HELP[$name]}"
    start=$(date +%s)
    "stage_$name"
    rc=$?
    local took=$(($(date +%s) - start))
    if [[ "$rc" == 0 ]]; then
        printf '<== %s PASSED in %ss\n' "${name^^}" "$took"
        SUMMARY+=("PASS  $name (${took}s)")
    else
        printf '<== %s FAILED in %ss (exit %s) — pipeline stopped\n' "${name^^}" "$took" "$rc"
        SUMMARY+=("FAIL  $name (${took}s)")
    fi
    return "$rc"
}

main() {
    local selected=() arg
    for arg in "$@"; do
        case "$arg" in
            -h | --help | --list)
                sed -n '2,15p' "$0"
                for arg in "${STAGES[@]}"; do printf '  %-9s %s\n' "$arg" "${STAGE_HELP[$arg]}"; done
                return 0 ;;
            stop)
                native_stop
                if [[ "$(detect_engine)" != none ]]; then compose down --remove-orphans; fi
                podman_health_loop_stop
                podman_socket_stop
                return 0 ;;
            *)
                [[ -n "${STAGE_HELP[$arg]:-}" ]] || { echo "unknown stage '$arg' (one of: ${STAGES[*]})" >&2; return 2; }
                selected+=("$arg") ;;
        esac
    done
    ((${#selected[@]})) || selected=("${STAGES[@]}")
    SUMMARY=()
    local i=0 rc=0 start
    start=$(date +%s)
    for arg in "${selected[@]}"; do
        i=$((i + 1))
        run_stage "$arg" "$i" "${#selected[@]}" || { rc=1; break; }
    done
    printf '\n== pipeline summary (%ss)\n' "$(($(date +%s) - start))"
    printf '   %s\n' "${SUMMARY[@]}"
    return "$rc"
}

main "$@"
