"""Alert intake and correlation over real HTTP, with the real incident-management and PostgreSQL."""

import uuid

import httpx
import pytest
from sqlalchemy import text

ALERT = {
    "service": "frontend-api",
    "severity": "high",
    "message": "HTTP 5xx error rate > 10%",
    "labels": {"environment": "production", "region": "us-east-1"},
    "timestamp": "2026-02-09T15:30:00Z",
}


def post(base, **overrides):
    response = httpx.post(f"{base}/api/v1/alerts", json={**ALERT, **overrides})
    assert response.status_code == 201, response.text
    return response.json()


def test_first_alert_opens_an_incident_second_joins_it(alerts_url, incidents_url):
    first = post(alerts_url)
    assert first["status"] == "correlated" and first["action"] == "new_incident"
    assert set(first) == {"alert_id", "incident_id", "status", "action"}
    second = post(alerts_url, message="still failing")
    assert second == {**second, "incident_id": first["incident_id"], "action": "attached_to_existing_incident"}
    incident = httpx.get(f"{incidents_url}/api/v1/incidents/{first['incident_id']}").json()
    assert incident["service"] == "frontend-api" and incident["severity"] == "high"
    assert incident["title"] == ALERT["message"]
    assert [a["alert_id"] for a in incident["alerts"]] == [first["alert_id"], second["alert_id"]]
    assert incident["alerts"][0]["labels"] == ALERT["labels"]


def test_different_severity_or_service_opens_another_incident(alerts_url):
    base = post(alerts_url)
    other_severity = post(alerts_url, severity="critical")
    other_service = post(alerts_url, service="billing")
    assert len({base["incident_id"], other_severity["incident_id"], other_service["incident_id"]}) == 3


def test_severity_aliases_correlate_with_their_level(alerts_url):
    assert post(alerts_url, severity="error")["incident_id"] == post(alerts_url, severity="HIGH")["incident_id"]


def test_a_resolved_incident_is_not_reused(alerts_url, incidents_url):
    first = post(alerts_url)
    httpx.patch(f"{incidents_url}/api/v1/incidents/{first['incident_id']}", json={"status": "resolved"})
    again = post(alerts_url)
    assert again["action"] == "new_incident" and again["incident_id"] != first["incident_id"]


def test_an_incident_older_than_the_window_is_not_reused(alerts_url, clean_db):
    first = post(alerts_url)
    with clean_db.begin() as connection:
        connection.execute(text("UPDATE incident_management.incidents SET created_at = created_at - interval '6 minutes'"))
    assert post(alerts_url)["incident_id"] != first["incident_id"]


def test_get_and_list_alerts(alerts_url):
    first = post(alerts_url)
    other = post(alerts_url, service="billing", severity="low", labels={})
    alert = httpx.get(f"{alerts_url}/api/v1/alerts/{first['alert_id']}").json()
    assert alert["incident_id"] == first["incident_id"] and alert["labels"] == ALERT["labels"]
    assert alert["timestamp"].startswith("2026-02-09T15:30:00") and alert["source"] == "api"
    listing = httpx.get(f"{alerts_url}/api/v1/alerts")
    assert [a["alert_id"] for a in listing.json()] == [other["alert_id"], first["alert_id"]]
    assert listing.headers["x-total-count"] == "2"
    by_service = httpx.get(f"{alerts_url}/api/v1/alerts", params={"service": "billing"}).json()
    assert [a["alert_id"] for a in by_service] == [other["alert_id"]]
    by_incident = httpx.get(f"{alerts_url}/api/v1/alerts", params={"incident_id": first["incident_id"]}).json()
    assert [a["alert_id"] for a in by_incident] == [first["alert_id"]]
    by_severity = httpx.get(f"{alerts_url}/api/v1/alerts", params={"severity": "info", "limit": 1}).json()
    assert [a["alert_id"] for a in by_severity] == [other["alert_id"]]


def test_unknown_and_malformed_alert_ids(alerts_url):
    missing = httpx.get(f"{alerts_url}/api/v1/alerts/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert httpx.get(f"{alerts_url}/api/v1/alerts/not-a-uuid").status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"severity": "high", "message": "m"}, "service"),
        ({"service": "api", "message": "m"}, "severity"),
        ({"service": "api", "severity": "high"}, "message"),
        ({"service": "", "severity": "high", "message": "m"}, "service"),
        ({"service": "api", "severity": "high", "message": "   "}, "message"),
        ({"service": "api", "severity": "urgent", "message": "m"}, "severity"),
        ({"service": "api", "severity": "high", "message": "m", "labels": {"a": 1}}, "labels.a"),
        ({"service": "api", "severity": "high", "message": "m", "labels": ["a"]}, "labels"),
        ({"service": "api", "severity": "high", "message": "m", "labels": {f"k{i}": "v" for i in range(65)}}, "labels"),
        ({"service": "api", "severity": "high", "message": "m", "timestamp": "yesterday"}, "timestamp"),
        ({"service": "x" * 201, "severity": "high", "message": "m"}, "service"),
        ({"service": "api", "severity": "high", "message": "m" * 4001}, "message"),
    ],
)
def test_invalid_alerts_get_422_with_the_field_and_store_nothing(alerts_url, body, field):
    response = httpx.post(f"{alerts_url}/api/v1/alerts", json=body)
    assert response.status_code == 422
    assert field in [detail["field"] for detail in response.json()["error"]["details"]]
    assert httpx.get(f"{alerts_url}/api/v1/alerts").json() == []


def test_not_json_is_422(alerts_url):
    response = httpx.post(f"{alerts_url}/api/v1/alerts", content=b"not json", headers={"content-type": "application/json"})
    assert response.status_code == 422


def test_metrics_count_received_and_correlated(alerts_url):
    def sample(text_, name):
        line = next((line for line in text_.splitlines() if line.startswith(name)), None)
        return float(line.rsplit(" ", 1)[1]) if line else 0.0

    before = httpx.get(f"{alerts_url}/metrics").text
    post(alerts_url, severity="low")
    post(alerts_url, severity="low")
    after = httpx.get(f"{alerts_url}/metrics").text
    received = 'alerts_received_total{severity="low"}'
    assert sample(after, received) - sample(before, received) == 2
    new = 'alerts_correlated_total{result="new_incident"}'
    existing = 'alerts_correlated_total{result="existing_incident"}'
    assert sample(after, new) - sample(before, new) == 1
    assert sample(after, existing) - sample(before, existing) == 1
