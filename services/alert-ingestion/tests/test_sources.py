"""Mapping Alertmanager / Grafana webhook alerts onto platform alerts (pure)."""

import json
from pathlib import Path

from alert_ingestion.sources import WebhookAlert, WebhookPayload, fingerprint, to_alert

FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures"


def load(name: str) -> WebhookPayload:
    return WebhookPayload.model_validate(json.loads((FIXTURES / name).read_text()))


def test_alertmanager_v4_fixture():
    payload = load("alertmanager-webhook-v4.json")
    item = payload.alerts[0]
    alert = to_alert(item)
    assert (alert.service, alert.severity, alert.message) == ("incident-api", "critical", "ManualTestAlert")
    assert alert.labels["alertname"] == "ManualTestAlert"
    assert alert.timestamp.year == 2026 and fingerprint(item) == "887d33d30b743c10"
    assert item.status == "resolved"


def test_grafana_v1_fixture_with_several_alerts():
    alerts = [to_alert(item) for item in load("grafana-webhook-v1.json").alerts]
    assert [(a.service, a.severity, a.message) for a in alerts] == [
        ("checkout-api", "critical", "p99 latency above 2 s for 5 minutes"),
        ("checkout-api", "medium", "5xx ratio above 2 %"),
    ]


def test_documented_fallbacks():
    bare = WebhookAlert(status="firing", labels={"job": "node", "severity": "whatever"})
    alert = to_alert(bare)
    assert (alert.service, alert.severity, alert.message) == ("node", "critical", "alert")
    nothing = to_alert(WebhookAlert(status="firing"))
    assert nothing.service == "unknown" and nothing.severity == "critical"
    described = to_alert(WebhookAlert(status="firing", labels={"app": "web", "priority": "P3"}, annotations={"description": "disk 91%"}))
    assert (described.service, described.severity, described.message) == ("web", "medium", "disk 91%")


def test_fingerprint_without_one_is_stable_over_label_order():
    a = WebhookAlert(status="firing", labels={"a": "1", "b": "2"})
    b = WebhookAlert(status="firing", labels={"b": "2", "a": "1"})
    assert fingerprint(a) == fingerprint(b) != fingerprint(WebhookAlert(status="firing", labels={"a": "2"}))


def test_too_many_labels_are_cut_to_the_bound():
    alert = to_alert(WebhookAlert(status="firing", labels={f"k{i:03d}": "v" for i in range(100)}))
    assert len(alert.labels) == 64
