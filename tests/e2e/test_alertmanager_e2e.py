"""A real Prometheus alerting rule fires → a real Alertmanager delivers to alert-ingestion → an incident
exists with the rule's service and severity → the rule stops firing → the alert and incident resolve.

Run twice: in the local profile (anonymous admin, the seed's receiver config unchanged) and with
ANONYMOUS_ROLE=none, where Alertmanager authenticates with an integration key
(`http_config.authorization.credentials`) and a second receiver without the key is refused with 401."""

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.alerting import LocalAlerting, metrics_target, require_binaries
from tests.support.waiting import wait_until

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


@pytest.fixture
def exporter() -> Iterator[tuple[dict, str]]:
    """A scrape target whose single gauge the test sets."""
    state = {"value": 0}
    with metrics_target(lambda: f"e2e_checkout_errors {state['value']}\n") as target:
        yield state, target


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
    require_binaries()
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
    receivers = _receivers(f"{stack.url('alert-ingestion')}/api/v1/alerts/alertmanager", key)
    with LocalAlerting(tmp_path, alertmanager_config=receivers, rules=RULES, scrape_target=exporter[1]) as alerting:
        yield {
            "alerts": stack.url("alert-ingestion"),
            "incidents": stack.url("incident-management"),
            "oncall": stack.url("oncall-service"),
            "alertmanager": alerting.alertmanager_url,
            "headers": admin,
        }


def test_prometheus_rule_to_incident_and_back(alerting, exporter):
    state, _ = exporter
    state["value"] = 3
    headers = alerting["headers"]

    def alertmanager_alert():
        found = httpx.get(f"{alerting['alerts']}/api/v1/alerts", params={"service": "checkout"}, headers=headers).json()
        return found[0] if found and found[0]["incident_id"] else None

    alert = wait_until(alertmanager_alert, "Alertmanager to deliver the firing alert", timeout=90)
    assert alert["source"] == "alertmanager" and alert["severity"] == "critical"
    assert alert["message"] == "Checkout is failing payments" and alert["labels"]["alertname"] == "CheckoutErrors"
    incident_url = f"{alerting['incidents']}/api/v1/incidents/{alert['incident_id']}"
    incident = httpx.get(incident_url, headers=headers).json()
    assert (incident["service"], incident["severity"], incident["status"]) == ("checkout", "critical", "open")

    state["value"] = 0
    resolved = wait_until(
        lambda: (i := httpx.get(incident_url, headers=headers).json())["status"] == "resolved" and i,
        "the incident to auto-resolve",
        timeout=90,
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
