"""The core story over real processes and real HTTP: alert → new incident → second alert attached →
list / filter → acknowledge (MTTA) → note → resolve (MTTR) → /metrics shows the counters."""

import httpx
import pytest

pytestmark = pytest.mark.e2e


def metric(base: str, sample: str) -> float:
    for line in httpx.get(f"{base}/metrics").text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_alert_to_resolved_incident(start_stack):
    stack = start_stack("alert-ingestion", "incident-management")
    alerts, incidents = stack.url("alert-ingestion"), stack.url("incident-management")
    for base, name in ((alerts, "alert-ingestion"), (incidents, "incident-management")):
        assert httpx.get(f"{base}/health").json() == {"status": "ok", "service": name}
        assert httpx.get(f"{base}/ready").status_code == 200

    alert = {"service": "frontend-api", "severity": "high", "message": "HTTP 5xx error rate > 10%", "labels": {"env": "prod"}}
    first = httpx.post(f"{alerts}/api/v1/alerts", json=alert)
    assert first.status_code == 201
    assert first.json()["action"] == "new_incident" and first.json()["status"] == "correlated"
    incident_id = first.json()["incident_id"]
    second = httpx.post(f"{alerts}/api/v1/alerts", json={**alert, "message": "still failing"}).json()
    assert second["action"] == "attached_to_existing_incident" and second["incident_id"] == incident_id
    assert httpx.get(f"{alerts}/api/v1/alerts/{second['alert_id']}").json()["incident_id"] == incident_id

    listed = httpx.get(f"{incidents}/api/v1/incidents", params={"status": "open", "service": "frontend-api"}).json()
    assert [i["id"] for i in listed] == [incident_id]
    assert httpx.get(f"{incidents}/api/v1/incidents", params={"severity": "low"}).json() == []

    url = f"{incidents}/api/v1/incidents/{incident_id}"
    acked = httpx.patch(url, json={"status": "acknowledged", "author": "alice"}).json()
    assert acked["mtta_seconds"] is not None
    httpx.patch(url, json={"notes": "Rolled back release 42", "author": "alice"})
    resolved = httpx.patch(url, json={"status": "resolved", "author": "alice"}).json()
    assert resolved["mttr_seconds"] >= acked["mtta_seconds"]

    detail = httpx.get(url).json()
    assert len(detail["alerts"]) == 2 and detail["notes"][0]["body"] == "Rolled back release 42"
    lifecycle = [e["kind"] for e in detail["timeline"] if not e["kind"].startswith("page")]
    assert lifecycle == ["created", "acknowledged", "note", "resolved"]
    assert httpx.get(f"{url}/metrics").json()["mttr_seconds"] == resolved["mttr_seconds"]

    assert metric(alerts, 'alerts_received_total{severity="high"}') == 2
    assert metric(alerts, 'alerts_correlated_total{result="new_incident"}') == 1
    assert metric(alerts, 'alerts_correlated_total{result="existing_incident"}') == 1
    assert metric(incidents, 'incidents_total{status="resolved"}') == 1
    assert metric(incidents, "incident_mtta_seconds_count") == 1
    assert metric(incidents, "incident_mttr_seconds_count") == 1


def test_incident_management_restart_loses_no_alert(start_stack):
    """Stop incident-management, keep sending alerts, bring it back: every alert ends correlated."""
    stack = start_stack("alert-ingestion", "incident-management", env={"PENDING_RETRY_SECONDS": "0.5"})
    alerts = stack.url("alert-ingestion")
    stack.stop("incident-management")
    accepted = [
        httpx.post(f"{alerts}/api/v1/alerts", json={"service": "db", "severity": "critical", "message": f"replica lag {i}"}).json()
        for i in range(5)
    ]
    assert {a["status"] for a in accepted} == {"pending"}
    stack.start("incident-management")
    deadline_polls = 200
    for _ in range(deadline_polls):
        states = [httpx.get(f"{alerts}/api/v1/alerts/{a['alert_id']}").json() for a in accepted]
        if all(s["status"] == "correlated" for s in states):
            break
        httpx.get(f"{alerts}/health")  # a short pause without sleeping on a fixed timing assumption
    assert all(s["status"] == "correlated" for s in states)
    assert len({s["incident_id"] for s in states}) == 1
