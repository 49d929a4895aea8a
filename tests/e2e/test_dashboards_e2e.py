"""Every Grafana dashboard panel returns data from a real Prometheus scraping the real platform.

Story: a throwaway PostgreSQL, every service that exists as a real process on free loopback ports, the
machine's Prometheus (Debian package) scraping them every second with the platform's own rules. We then
run an incident story over HTTP (an on-call schedule, alerts from several services, correlation, two
incidents acknowledged and resolved, one left open), let Prometheus scrape, and evaluate every panel
query of the three dashboards through Prometheus's HTTP API: each must return at least one finite
sample. All targets must be up and every rule must evaluate without error.

Panels whose metrics come from a service that is not in the tree yet are skipped, naming the service.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from platform_local import prometheus_config
from platform_local.postgres import LocalPostgres
from platform_local.stack import SERVICES, Stack
from tests.monitoring import monitoring_checks as mc
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

# Which service exports each business metric, so a panel can wait for a service still being written.
EXPORTED_BY = {
    "alerts_received_total": "alert-ingestion",
    "alerts_by_service_total": "alert-ingestion",
    "alerts_correlated_total": "alert-ingestion",
    "incidents_total": "incident-management",
    "incidents_open": "incident-management",
    "incidents_created_total": "incident-management",
    "incident_mtta_seconds": "incident-management",
    "incident_mttr_seconds": "incident-management",
    "escalations_total": "oncall-service",
    "oncall_current": "oncall-service",
    "notifications_sent_total": "notification-service",
    "oncall_notifications_sent_total": "notification-service",
}
# Grafana's variables as the dashboards would be opened right after the story.
E2E_VALUES = {"__rate_interval": "30s", "__interval": "5s", "__range": "10m", "window": "10m"}
SCRAPE = 1.0  # seconds
CLOSED_URL = "http://127.0.0.1:9"  # nothing listens on the discard port: "peer down", never a stray dev stack


def wait_until(check, timeout: float, what: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


# ------------------------------------------------------------------------------------ the stack
AVAILABLE = [spec.name for spec in SERVICES if spec.available]
MISSING = [spec.name for spec in SERVICES if not spec.available]


@pytest.fixture(scope="module")
def workdir():
    # Not under pytest's tmp_path: concurrent pytest sessions prune each other's numbered folders.
    root = Path(tempfile.mkdtemp(prefix="dashboards-e2e-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def platform(workdir):
    """Its own PostgreSQL (the story asserts exact counts) and every service in the tree."""
    postgres = LocalPostgres(workdir / "pg", free_port(), durable=False)
    postgres.start()
    stack = None
    try:
        database_url = postgres.create_database("dashboards_e2e", init_sql=ROOT / "database" / "init.sql")
        ports = {name: free_port() for name in AVAILABLE}
        env = {"ENVIRONMENT": "test", "LOG_LEVEL": "WARNING"}
        env.update({spec.url_env: CLOSED_URL for spec in SERVICES if spec.name in MISSING})
        stack = Stack(database_url=database_url, ports=ports, log_dir=workdir / "logs", env=env)
        stack.start()
        yield stack
    finally:
        if stack is not None:
            stack.stop()
        postgres.stop()


@pytest.fixture(scope="module")
def prometheus(platform, workdir):
    """The machine's Prometheus scraping every service each second, with monitoring/rules/*.yml."""
    binary = mc.ensure_promtool() and shutil.which("prometheus")
    if not binary:
        pytest.skip("the Debian package `prometheus` is not installed and scripts/install-system-packages.sh could not install it")
    root = workdir / "prometheus"
    port = free_port()
    targets = {"prometheus": f"127.0.0.1:{port}", **{name: f"127.0.0.1:{p}" for name, p in platform.ports.items()}}
    config = prometheus_config.write_config(root / "prometheus.yml", targets=targets, scrape_interval="1s")
    log = open(root / "prometheus.log", "wb")
    command = prometheus_config.prometheus_command(config, root / "data", f"127.0.0.1:{port}", binary=binary)
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    try:

        def ready():
            if process.poll() is not None:
                raise AssertionError(f"prometheus exited: {(root / 'prometheus.log').read_text()[-2000:]}")
            try:
                return api.get("/-/ready").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(ready, 30, "Prometheus to be ready")
        yield api
    finally:
        api.close()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def pause_for_scrapes(n: int = 2) -> None:
    time.sleep(n * SCRAPE + 0.5)


@pytest.fixture(scope="module")
def story(platform, prometheus):
    """Alerts → incidents → acknowledge → resolve, with scrapes in between so counters move."""
    alerts = httpx.Client(base_url=platform.url("alert-ingestion"), timeout=10)
    incidents = httpx.Client(base_url=platform.url("incident-management"), timeout=10)
    try:
        if "oncall-service" in platform.ports:
            oncall = httpx.Client(base_url=platform.url("oncall-service"), timeout=10)
            response = oncall.post(
                "/api/v1/schedules",
                json={
                    "team": "checkout-api",
                    "rotation_type": "daily",
                    "timezone": "UTC",
                    "escalation_minutes": 15,
                    "members": [{"name": "Alice", "email": "alice@example.org"}, {"name": "Bob", "email": "bob@example.org"}],
                },
            )
            assert response.status_code in (200, 201), response.text
            oncall.close()

        def alert(service: str, severity: str, message: str) -> dict:
            response = alerts.post("/api/v1/alerts", json={"service": service, "severity": severity, "message": message})
            assert response.status_code == 201, response.text
            return response.json()

        # noise control: a silence and a dropping routing rule, each catching one alert now and one later
        silence = {"matchers": ['service="batch-jobs"'], "ends_at": "2099-01-01T00:00:00Z", "comment": "migrating"}
        assert alerts.post("/api/v1/silences", json=silence).status_code == 201
        rule = {"name": "flapping", "matchers": ['service="flappy"'], "drop": True}
        assert alerts.post("/api/v1/routing-rules", json=rule).status_code == 201
        assert alert("batch-jobs", "low", "nightly job late")["status"] == "silenced"
        assert alert("flappy", "low", "flapping")["status"] == "dropped"
        pause_for_scrapes()  # every counter and histogram seen at its starting value

        first = alert("checkout-api", "critical", "checkout 5xx > 10%")
        alert("search", "high", "search latency p99 > 2s")
        alert("payments", "low", "card retries rising")
        pause_for_scrapes()
        again = alert("checkout-api", "critical", "checkout 5xx > 20%")
        alert("search", "high", "search latency p99 > 3s")
        alert("batch-jobs", "low", "nightly job late again")
        alert("flappy", "low", "flapping again")
        assert again["incident_id"] == first["incident_id"], "same service and severity must correlate"
        pause_for_scrapes()

        for incident_id in (first["incident_id"], alert("search", "medium", "index lag")["incident_id"]):
            ack = incidents.patch(f"/api/v1/incidents/{incident_id}", json={"status": "acknowledged", "note": "on it"})
            assert ack.status_code == 200, ack.text
        pause_for_scrapes()
        for incident_id in (first["incident_id"],):
            done = incidents.patch(f"/api/v1/incidents/{incident_id}", json={"status": "resolved"})
            assert done.status_code == 200, done.text
        pause_for_scrapes()
        # the checkout incident is resolved: a new critical alert opens a second incident for it
        reopened = alert("checkout-api", "critical", "checkout 5xx again")
        assert reopened["incident_id"] != first["incident_id"]
        alert("payments", "low", "card retries still rising")
        pause_for_scrapes(3)
        return {"open_incident": reopened["incident_id"]}
    finally:
        alerts.close()
        incidents.close()


def instant(api: httpx.Client, expr: str) -> list[dict]:
    response = api.post("/api/v1/query", data={"query": expr})
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", f"{expr}\n{body}"
    return body["data"]["result"]


def finite_values(result: list[dict]) -> list[float]:
    values = [float(s["value"][1]) for s in result if "value" in s]
    return [v for v in values if math.isfinite(v)]


# ------------------------------------------------------------------------------------ checks
def test_every_service_target_is_up(prometheus, story):
    active = prometheus.get("/api/v1/targets", params={"state": "active"}).json()["data"]["activeTargets"]
    health = {t["labels"]["job"]: t["health"] for t in active}
    assert health == {"prometheus": "up", **{name: "up" for name in AVAILABLE}}, active
    assert all("service" not in t["labels"] for t in active)
    up = {s["metric"]["job"]: s["value"][1] for s in instant(prometheus, "up")}
    assert up == {job: "1" for job in health}


def test_platform_rules_load_and_evaluate_without_error(prometheus, story):
    groups = prometheus.get("/api/v1/rules").json()["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert len(rules) >= 10
    broken = {rule["name"]: rule.get("lastError") for rule in rules if rule["health"] == "err"}
    assert not broken
    # A job's rate appears once two of its scrapes are in: the services' first ones land a moment apart.
    wait_until(lambda: _rated_jobs(prometheus) >= set(AVAILABLE), 40, f"a request rate for each of {sorted(AVAILABLE)}")


def _rated_jobs(prometheus: httpx.Client) -> set[str]:
    return {s["metric"]["job"] for s in instant(prometheus, "job:http_requests:rate5m")}


def test_service_variable_offers_the_story_services(prometheus, story):
    response = prometheus.get("/api/v1/label/service/values", params={"match[]": "incidents_created_total"})
    assert {"checkout-api", "search", "payments"} <= set(response.json()["data"])
    jobs = prometheus.get("/api/v1/label/job/values", params={"match[]": "up"}).json()["data"]
    assert set(AVAILABLE) <= set(jobs)


def _panel_queries():
    cases = []
    for dashboard in mc.load_dashboards().values():
        values = mc.variable_values(dashboard, E2E_VALUES)
        for q in mc.panel_queries(dashboard):
            cases.append(pytest.param(q, mc.substitute(q.expr, values), id=q.name))
    return cases


def _needed_services(expr: str) -> set[str]:
    needed = set()
    for metric in mc.metric_names(expr):
        family = metric.removesuffix("_bucket").removesuffix("_sum").removesuffix("_count")
        if family in EXPORTED_BY:
            needed.add(EXPORTED_BY[family])
    return needed


@pytest.mark.parametrize(("query", "expr"), _panel_queries())
def test_panel_query_returns_data(prometheus, story, query, expr):
    missing = _needed_services(expr) & set(MISSING)
    if missing:
        pytest.skip(f"{query.name} reads metrics of {', '.join(sorted(missing))}, not in the tree yet")
    result = instant(prometheus, expr)
    assert result, f"{query.name}: no series for\n{expr}"
    assert finite_values(result), f"{query.name}: only NaN / Inf for\n{expr}\n{result}"


def test_dashboard_figures_match_the_story(prometheus, story):
    """Spot-check values, not only presence: MTTA from the histogram, open incidents, top services."""
    open_by_severity = {s["metric"]["severity"]: float(s["value"][1]) for s in instant(prometheus, "max by (severity) (incidents_open)")}
    assert open_by_severity["critical"] == 1  # the second checkout incident
    assert open_by_severity["medium"] == 1 and open_by_severity["high"] == 1 and open_by_severity["low"] == 1
    mtta = finite_values(instant(prometheus, "sum(incident_mtta_seconds_sum) / sum(incident_mtta_seconds_count)"))
    assert mtta and 0 < mtta[0] < 60
    count = finite_values(instant(prometheus, "sum(incident_mtta_seconds_count)"))
    assert count == [2.0]
    noisy = {s["metric"]["service"]: float(s["value"][1]) for s in instant(prometheus, "sum by (service) (alerts_by_service_total)")}
    assert noisy == {"checkout-api": 3, "search": 3, "payments": 2, "batch-jobs": 2, "flappy": 2}  # silenced, dropped too
