"""A real Prometheus alerting rule fires → a real Alertmanager delivers to alert-ingestion → an incident
exists with the rule's service and severity → the rule stops firing → the alert and incident resolve.

Run twice: in the local profile (anonymous admin, the seed's receiver config unchanged) and with
ANONYMOUS_ROLE=none, where Alertmanager authenticates with an integration key
(`http_config.authorization.credentials`) and a second receiver without the key is refused with 401."""

import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from tests.support.servers import free_port, serve_in_thread

pytestmark = pytest.mark.e2e

RULES = """
groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: CheckoutErrors
        expr: e2e_checkout_errors > 0
        labels: {service: checkout, severity: critical}
        annotations: {summary: "Checkout is failing payments"}
"""


def wait_for(check, what: str, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def exporter() -> Iterator[tuple[dict, str]]:
    """A scrape target whose single gauge the test sets."""
    state = {"value": 0}
    app = FastAPI()
    app.get("/metrics", response_class=PlainTextResponse)(lambda: f"e2e_checkout_errors {state['value']}\n")
    with serve_in_thread(app) as url:
        yield state, url.removeprefix("http://")


def spawn(argv: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(argv, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _receivers(url: str, key: str | None) -> str:
    """The seed's receiver, or (with a key) the authenticated receiver plus a keyless one that must be refused."""
    if key is None:
        return f"""
route: {{receiver: platform, group_by: [alertname], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}}
receivers:
  - name: platform
    webhook_configs:
      - url: {url}
        send_resolved: true
"""
    return f"""
route:
  receiver: platform
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - {{receiver: keyless, continue: true}}
    - {{receiver: platform}}
receivers:
  - name: platform
    webhook_configs:
      - url: {url}
        send_resolved: true
        http_config: {{authorization: {{credentials: {key}}}}}
  - name: keyless
    webhook_configs:
      - url: {url}
        send_resolved: true
"""


@pytest.fixture(params=["local profile", "integration key"])
def alerting(request, tmp_path: Path, exporter, start_stack) -> Iterator[dict]:
    for binary in ("prometheus", "prometheus-alertmanager"):
        assert shutil.which(binary), f"{binary} missing: scripts/install-system-packages.sh installs it"
    env, admin, key = {"PENDING_RETRY_SECONDS": "0.5"}, {}, None
    if request.param == "integration key":
        admin_token = secrets.token_urlsafe(32)
        env |= {"ANONYMOUS_ROLE": "none", "BOOTSTRAP_ADMIN_TOKEN": admin_token, "SERVICE_TOKEN": secrets.token_urlsafe(32)}
        admin = {"Authorization": f"Bearer {admin_token}"}
    stack = start_stack("alert-ingestion", "incident-management", "oncall-service", env=env)
    if admin:
        created = httpx.post(
            f"{stack.url('oncall-service')}/api/v1/integrations", json={"name": "am", "kind": "alertmanager"}, headers=admin
        )
        key = created.json()["key"]
    am_port, prom_port = free_port(), free_port()
    (tmp_path / "alertmanager.yml").write_text(_receivers(f"{stack.url('alert-ingestion')}/api/v1/alerts/alertmanager", key))
    (tmp_path / "rules.yml").write_text(RULES)
    (tmp_path / "prometheus.yml").write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [{tmp_path / "rules.yml"}]
alerting:
  alertmanagers: [{{static_configs: [{{targets: ["127.0.0.1:{am_port}"]}}]}}]
scrape_configs:
  - job_name: e2e
    static_configs: [{{targets: ["{exporter[1]}"]}}]
""")
    processes = [
        spawn(
            [
                "prometheus-alertmanager",
                f"--config.file={tmp_path / 'alertmanager.yml'}",
                f"--storage.path={tmp_path / 'am'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
            tmp_path / "alertmanager.log",
        ),
        spawn(
            [
                "prometheus",
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'prom'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
                "--rules.alert.resend-delay=1s",
            ],
            tmp_path / "prometheus.log",
        ),
    ]
    try:
        yield {
            "alerts": stack.url("alert-ingestion"),
            "incidents": stack.url("incident-management"),
            "oncall": stack.url("oncall-service"),
            "alertmanager": f"http://127.0.0.1:{am_port}",
            "headers": admin,
        }
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def test_prometheus_rule_to_incident_and_back(alerting, exporter):
    state, _ = exporter
    state["value"] = 3
    headers = alerting["headers"]

    def alertmanager_alert():
        found = httpx.get(f"{alerting['alerts']}/api/v1/alerts", params={"service": "checkout"}, headers=headers).json()
        return found[0] if found and found[0]["incident_id"] else None

    alert = wait_for(alertmanager_alert, "Alertmanager to deliver the firing alert")
    assert alert["source"] == "alertmanager" and alert["severity"] == "critical"
    assert alert["message"] == "Checkout is failing payments" and alert["labels"]["alertname"] == "CheckoutErrors"
    incident_url = f"{alerting['incidents']}/api/v1/incidents/{alert['incident_id']}"
    incident = httpx.get(incident_url, headers=headers).json()
    assert (incident["service"], incident["severity"], incident["status"]) == ("checkout", "critical", "open")

    state["value"] = 0
    resolved = wait_for(
        lambda: (i := httpx.get(incident_url, headers=headers).json())["status"] == "resolved" and i, "the incident to auto-resolve"
    )
    assert resolved["alerts"][0]["status"] == "resolved"
    assert "alerts_resolved" in [e["kind"] for e in resolved["timeline"]]
    listed = httpx.get(f"{alerting['alerts']}/api/v1/alerts", params={"service": "checkout"}, headers=headers).json()
    assert len(listed) == 1, "repeated firing notifications did not create new alerts"
    if headers:  # the keyless receiver was refused, and the refusal is audited
        audit = httpx.get(f"{alerting['oncall']}/api/v1/audit", params={"actor": "unauthenticated"}, headers=headers).json()
        refused = [entry for entry in audit if entry["path"] == "/api/v1/alerts/alertmanager"]
        assert refused and {entry["status"] for entry in refused} == {401}
        failed = httpx.get(f"{alerting['alertmanager']}/metrics").text
        assert any(
            line.startswith('alertmanager_notifications_failed_total{integration="webhook"') and not line.endswith(" 0")
            for line in failed.splitlines()
        )
