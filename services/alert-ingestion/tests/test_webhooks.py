"""Alertmanager and Grafana webhooks over real HTTP: firing opens incidents, repeats are duplicates,
resolved notifications resolve the alert and (when all are resolved) the incident."""

import copy
import json
from pathlib import Path

import httpx
import pytest

from tests.support.apps import incident_management, ingestion_app
from tests.support.servers import free_port, serve_in_thread

FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def firing(payload: dict) -> dict:
    payload = copy.deepcopy(payload)
    payload["status"] = "firing"
    for alert in payload["alerts"]:
        alert["status"], alert["endsAt"] = "firing", "0001-01-01T00:00:00Z"
    return payload


@pytest.fixture
def ingestion(database_url, incidents_url):
    app = ingestion_app(database_url, incidents_url)
    with serve_in_thread(app) as url:
        yield app, url


def test_alertmanager_firing_repeat_and_resolve(ingestion, incidents_url):
    app, url = ingestion
    resolved_payload = fixture("alertmanager-webhook-v4.json")
    first = httpx.post(f"{url}/api/v1/alerts/alertmanager", json=firing(resolved_payload)).json()
    assert first["duplicates"] == 0 and len(first["accepted"]) == 1
    incident_id = first["accepted"][0]["incident_id"]
    incident = httpx.get(f"{incidents_url}/api/v1/incidents/{incident_id}").json()
    assert (incident["service"], incident["severity"], incident["status"]) == ("incident-api", "critical", "open")

    repeat = httpx.post(f"{url}/api/v1/alerts/alertmanager", json=firing(resolved_payload)).json()
    assert repeat == {"accepted": [], "duplicates": 1, "resolved": 0}
    assert httpx.get(f"{url}/api/v1/alerts", params={"incident_id": incident_id}).headers["x-total-count"] == "1"

    done = httpx.post(f"{url}/api/v1/alerts/alertmanager", json=resolved_payload).json()
    assert done["resolved"] == 1
    app.state.resolution_worker.run_once()
    incident = httpx.get(f"{incidents_url}/api/v1/incidents/{incident_id}").json()
    assert incident["status"] == "resolved"
    assert incident["alerts"][0]["status"] == "resolved"
    assert {"alerts_resolved", "resolved"} <= {e["kind"] for e in incident["timeline"]}
    alert = httpx.get(f"{url}/api/v1/alerts/{first['accepted'][0]['alert_id']}").json()
    assert alert["resolved_at"].startswith("2026-11-28T12:45:05") and alert["source"] == "alertmanager"

    again = httpx.post(f"{url}/api/v1/alerts/alertmanager", json=firing(resolved_payload)).json()
    assert len(again["accepted"]) == 1 and again["accepted"][0]["action"] == "new_incident", "a re-fire is a new alert"


def test_grafana_payload_opens_one_incident_per_severity_and_waits_for_every_alert(ingestion, incidents_url):
    app, url = ingestion
    payload = fixture("grafana-webhook-v1.json")
    result = httpx.post(f"{url}/api/v1/alerts/grafana", json=payload).json()
    assert len(result["accepted"]) == 2
    ids = {a["incident_id"] for a in result["accepted"]}
    assert len(ids) == 2
    second_alert = copy.deepcopy(payload)
    second_alert["alerts"][0]["labels"]["alertname"] = "CheckoutLatencyHigh2"
    second_alert["alerts"][0]["fingerprint"] = "other-fingerprint"
    second_alert["alerts"] = second_alert["alerts"][:1]
    joined = httpx.post(f"{url}/api/v1/alerts/grafana", json=second_alert).json()["accepted"][0]
    assert joined["action"] == "attached_to_existing_incident"

    resolve_one = copy.deepcopy(payload)
    resolve_one["alerts"] = resolve_one["alerts"][:1]
    resolve_one["alerts"][0]["status"] = "resolved"
    resolve_one["alerts"][0]["endsAt"] = "2026-11-28T12:50:00Z"
    assert httpx.post(f"{url}/api/v1/alerts/grafana", json=resolve_one).json()["resolved"] == 1
    app.state.resolution_worker.run_once()
    critical = httpx.get(f"{incidents_url}/api/v1/incidents/{joined['incident_id']}").json()
    assert critical["status"] == "open", "one of its two alerts is still firing"


def test_resolution_reports_wait_for_incident_management(database_url, clean_db):
    port = free_port()
    with incident_management(database_url, port) as incidents_url:
        app = ingestion_app(database_url, incidents_url)
        with serve_in_thread(app) as url:
            payload = fixture("alertmanager-webhook-v4.json")
            incident_id = httpx.post(f"{url}/api/v1/alerts/alertmanager", json=firing(payload)).json()["accepted"][0]["incident_id"]
    app = ingestion_app(database_url, f"http://127.0.0.1:{port}")
    with serve_in_thread(app) as url:
        assert httpx.post(f"{url}/api/v1/alerts/alertmanager", json=payload).json()["resolved"] == 1
        assert app.state.resolution_worker.step() == 0, "incident-management is down: nothing reported yet"
        with incident_management(database_url, port) as incidents_url:
            assert app.state.resolution_worker.step() == 1
            assert httpx.get(f"{incidents_url}/api/v1/incidents/{incident_id}").json()["status"] == "resolved"


@pytest.mark.parametrize(
    "body", [{}, {"alerts": "nope"}, {"alerts": [{"status": "sleeping"}]}, {"alerts": [{"status": "firing", "labels": {"a": 1}}]}]
)
def test_malformed_webhooks_are_422(ingestion, body):
    _, url = ingestion
    assert httpx.post(f"{url}/api/v1/alerts/alertmanager", json=body).status_code == 422
    assert httpx.get(f"{url}/api/v1/alerts").json() == []
