"""Post-deploy verification: health of every endpoint, Prometheus targets up, a smoke alert end to end.

Used by the Verify stage of run-pipeline.sh and by scripts/compose-on-podman.sh. Standard library only,
so it runs anywhere the pipeline runs. Exit status 0 = verified, 1 = not.

    python scripts/pipeline/verify.py --health alert-ingestion=http://127.0.0.1:8001/health ... \
        --prometheus http://127.0.0.1:9090 --alerts http://127.0.0.1:8001 --gateway http://127.0.0.1:8080
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

SMOKE_SERVICE = "pipeline-smoke"


def fetch(url: str, *, body: dict | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    """GET (or POST JSON when `body` is given) and return (status, payload); status 0 = no answer."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an HTTP URL: {url}")
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 (scheme checked above)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def split_health(spec: str) -> tuple[str | None, str]:
    """`URL` or `SERVICE=URL`; the second form also requires the JSON body's "service" to be SERVICE
    (so a port answered by the wrong process, or by a proxy's own /health, does not count)."""
    name, sep, url = spec.partition("=")
    return (name, url) if sep and not spec.startswith(("http://", "https://")) else (None, spec)


def healthy(spec: str) -> bool:
    expected, url = split_health(spec)
    status, payload = fetch(url)
    if status != 200:
        return False
    if expected is None:
        return True
    try:
        return json.loads(payload).get("service") == expected
    except (ValueError, AttributeError):
        return False


def wait_healthy(specs: list[str], deadline: float) -> bool:
    pending = list(specs)
    while pending and time.monotonic() < deadline:
        pending = [spec for spec in pending if not healthy(spec)]
        if pending:
            time.sleep(2)
    for spec in specs:
        expected, url = split_health(spec)
        print(f"  {'ok  ' if spec not in pending else 'FAIL'} {url}" + (f" (service {expected})" if expected else ""))
    return not pending


SERVICE_JOBS = ("alert-ingestion", "incident-management", "oncall-service", "notification-service")


def target_problems(active: list[dict], required_jobs: tuple[str, ...] | list[str]) -> list[str]:
    """What is wrong with Prometheus' active targets: a required job without any target, or a target down.

    "Every existing target is up" alone would pass with a job whose DNS discovery found nothing."""
    problems = [f"job {job} has no target" for job in required_jobs if not any(t["labels"].get("job") == job for t in active)]
    problems += [f"{t['labels'].get('job', '?')} {t['scrapeUrl']} is {t['health']}" for t in active if t["health"] != "up"]
    if not active:
        problems.append("no active target at all")
    return problems


def targets_up(prometheus: str, deadline: float, required_jobs: tuple[str, ...] | list[str] = SERVICE_JOBS) -> bool:
    """Each required job has at least one target, and every active target reports health "up"
    (discovery and scrapes take an interval to happen, so this polls until the deadline)."""
    active: list[dict] = []
    problems = ["Prometheus did not answer"]
    while time.monotonic() < deadline:
        status, payload = fetch(f"{prometheus}/api/v1/targets?state=active")
        if status == 200:
            active = json.loads(payload)["data"]["activeTargets"]
            problems = target_problems(active, required_jobs)
            if not problems:
                break
        time.sleep(3)
    for target in active:
        job, health = target["labels"].get("job", "?"), target["health"]
        print(f"  {'ok  ' if health == 'up' else 'FAIL'} {job:<22} {target['scrapeUrl']} {health}")
    for problem in problems:
        print(f"  FAIL {problem}")
    return not problems


def metric_total(metrics_url: str, name: str) -> float:
    """Sum of every sample of `name` (all label sets) in a /metrics page."""
    status, payload = fetch(metrics_url)
    if status != 200:
        return float("nan")
    total = 0.0
    for line in payload.decode().splitlines():
        if line.startswith(name) and line[len(name) : len(name) + 1] in ("{", " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def smoke_alert(alerts: str, gateway: str) -> bool:
    """POST an alert, see its incident through the gateway, and see alerts_received_total move."""
    before = metric_total(f"{alerts}/metrics", "alerts_received_total")
    alert = {"service": SMOKE_SERVICE, "severity": "low", "message": f"pipeline smoke {uuid.uuid4()}"}
    status, payload = fetch(f"{alerts}/api/v1/alerts", body=alert)
    print(f"  POST {alerts}/api/v1/alerts -> {status} {payload[:200].decode(errors='replace')}")
    if status != 201:
        return False
    incident_id = json.loads(payload).get("incident_id")
    status, payload = fetch(f"{gateway}/api/v1/incidents/{incident_id}")
    print(f"  GET {gateway}/api/v1/incidents/{incident_id} -> {status}")
    if status != 200 or json.loads(payload).get("service") != SMOKE_SERVICE:
        return False
    after = metric_total(f"{alerts}/metrics", "alerts_received_total")
    print(f"  alerts_received_total {before} -> {after}")
    return after > before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--health", action="append", default=[], help="URL or SERVICE=URL that must answer 200 (repeatable)")
    parser.add_argument("--prometheus", help="Prometheus base URL whose targets must all be up")
    parser.add_argument("--alerts", help="alert-ingestion base URL for the smoke alert")
    parser.add_argument("--gateway", help="web-ui gateway base URL to read the incident back through")
    parser.add_argument(
        "--require-job",
        action="append",
        dest="required_jobs",
        help=f"a Prometheus job that must have at least one target, all up (repeatable; default: {', '.join(SERVICE_JOBS)})",
    )
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for health and targets")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.timeout
    checks: list[tuple[str, bool]] = []
    if args.health:
        print("health:")
        checks.append(("health", wait_healthy(args.health, deadline)))
    if args.prometheus:
        print("prometheus targets:")
        checks.append(("prometheus targets", targets_up(args.prometheus, deadline, args.required_jobs or SERVICE_JOBS)))
    if args.alerts and args.gateway:
        print("smoke alert:")
        checks.append(("smoke alert", smoke_alert(args.alerts, args.gateway)))
    failed = [name for name, ok in checks if not ok]
    print(f"verify: {'FAILED: ' + ', '.join(failed) if failed else 'all checks passed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
