"""Post-deploy verification: health of every endpoint, Prometheus targets up, a smoke alert end to end.

Used by the Verify stage of run-pipeline.sh and by scripts/compose-on-podman.sh. Standard library only,
so it runs anywhere the pipeline runs. Exit status 0 = verified, 1 = not.

    python scripts/pipeline/verify.py --health http://127.0.0.1:8001/health ... \
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


def wait_healthy(urls: list[str], deadline: float) -> bool:
    pending = list(urls)
    while pending and time.monotonic() < deadline:
        pending = [url for url in pending if fetch(url)[0] != 200]
        if pending:
            time.sleep(2)
    for url in urls:
        print(f"  {'ok  ' if url not in pending else 'FAIL'} {url}")
    return not pending


def targets_up(prometheus: str, deadline: float) -> bool:
    """Every active Prometheus target reports health "up" (scrapes take an interval to happen)."""
    summary: list[tuple[str, str, str]] = []
    while time.monotonic() < deadline:
        status, payload = fetch(f"{prometheus}/api/v1/targets?state=active")
        if status == 200:
            active = json.loads(payload)["data"]["activeTargets"]
            summary = [(t["labels"].get("job", "?"), t["scrapeUrl"], t["health"]) for t in active]
            if summary and all(health == "up" for _, _, health in summary):
                break
        time.sleep(3)
    for job, url, health in summary:
        print(f"  {'ok  ' if health == 'up' else 'FAIL'} {job:<22} {url} {health}")
    return bool(summary) and all(health == "up" for _, _, health in summary)


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
    parser.add_argument("--health", action="append", default=[], help="a URL that must answer 200 (repeatable)")
    parser.add_argument("--prometheus", help="Prometheus base URL whose targets must all be up")
    parser.add_argument("--alerts", help="alert-ingestion base URL for the smoke alert")
    parser.add_argument("--gateway", help="web-ui gateway base URL to read the incident back through")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for health and targets")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.timeout
    checks: list[tuple[str, bool]] = []
    if args.health:
        print("health:")
        checks.append(("health", wait_healthy(args.health, deadline)))
    if args.prometheus:
        print("prometheus targets:")
        checks.append(("prometheus targets", targets_up(args.prometheus, deadline)))
    if args.alerts and args.gateway:
        print("smoke alert:")
        checks.append(("smoke alert", smoke_alert(args.alerts, args.gateway)))
    failed = [name for name, ok in checks if not ok]
    print(f"verify: {'FAILED: ' + ', '.join(failed) if failed else 'all checks passed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
