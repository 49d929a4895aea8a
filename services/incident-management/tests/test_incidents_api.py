"""The incident API on a real PostgreSQL, with both peers (oncall, notification) unreachable."""

import uuid

import pytest
from sqlalchemy import text

INCIDENT = {"title": "Checkout 5xx > 10%", "service": "frontend-api", "severity": "high"}


def create(client, **overrides):
    response = client.post("/api/v1/incidents", json={**INCIDENT, **overrides})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_returns_an_open_incident_even_with_both_peers_down(client):
    incident = create(client, severity="P1")
    assert incident["status"] == "open"
    assert incident["severity"] == "critical"
    assert incident["assigned_to"] is None
    uuid.UUID(incident["id"])
    assert incident["created_at"].endswith(("Z", "+00:00"))
    timeline = client.get(f"/api/v1/incidents/{incident['id']}/timeline").json()
    assert [event["kind"] for event in timeline] == ["created"]


def test_an_explicit_assignee_is_kept(client):
    assert create(client, assigned_to="alice")["assigned_to"] == "alice"


@pytest.mark.parametrize(
    "body",
    [
        {"service": "api", "severity": "high"},
        {"title": "", "service": "api", "severity": "high"},
        {"title": "t", "service": "api", "severity": "urgent-ish"},
        {"title": "t", "service": "   ", "severity": "high"},
        {"title": "t", "service": "x" * 201, "severity": "high"},
    ],
)
def test_invalid_incidents_get_422_and_nothing_is_stored(client, body):
    response = client.post("/api/v1/incidents", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["details"]
    assert client.get("/api/v1/incidents").json() == []


def test_list_is_newest_first_filtered_and_paginated(client):
    first = create(client, service="db", severity="low")
    second = create(client, service="db", severity="critical")
    third = create(client, service="web", severity="critical")
    everything = client.get("/api/v1/incidents")
    assert [i["id"] for i in everything.json()] == [third["id"], second["id"], first["id"]]
    assert everything.headers["x-total-count"] == "3"
    assert [i["id"] for i in client.get("/api/v1/incidents", params={"service": "db"}).json()] == [second["id"], first["id"]]
    assert [i["id"] for i in client.get("/api/v1/incidents", params={"severity": "P1"}).json()] == [third["id"], second["id"]]
    client.patch(f"/api/v1/incidents/{first['id']}", json={"status": "resolved"})
    assert [i["id"] for i in client.get("/api/v1/incidents", params={"status": "resolved"}).json()] == [first["id"]]
    page = client.get("/api/v1/incidents", params={"limit": 1, "offset": 1})
    assert [i["id"] for i in page.json()] == [second["id"]] and page.headers["x-total-count"] == "3"
    assert client.get("/api/v1/incidents", params={"status": "sleeping"}).status_code == 422
    assert client.get("/api/v1/incidents", params={"limit": 0}).status_code == 422


def test_full_lifecycle_with_mtta_mttr_notes_and_timeline(client):
    incident = create(client)
    url = f"/api/v1/incidents/{incident['id']}"
    acked = client.patch(url, json={"status": "acknowledged", "author": "alice"}).json()
    assert acked["status"] == "acknowledged" and acked["mtta_seconds"] is not None and acked["acknowledged_at"]
    client.patch(url, json={"notes": "Rolled back the deploy", "author": "alice"})
    client.patch(url, json={"status": "in_progress", "note": "Watching error rate"})
    resolved = client.patch(url, json={"status": "resolved", "author": "bob"}).json()
    assert resolved["status"] == "resolved" and resolved["mttr_seconds"] >= resolved["mtta_seconds"]
    detail = client.get(url).json()
    assert [n["body"] for n in detail["notes"]] == ["Rolled back the deploy", "Watching error rate"]
    assert detail["notes"][0]["author"] == "alice" and detail["notes"][1]["author"] == "anonymous"
    assert [e["kind"] for e in detail["timeline"]] == ["created", "acknowledged", "note", "in_progress", "note", "resolved"]
    assert detail["alerts"] == []
    metrics = client.get(f"{url}/metrics").json()
    assert metrics["incident_id"] == incident["id"]
    assert metrics["mtta_seconds"] == acked["mtta_seconds"] and metrics["mttr_seconds"] == resolved["mttr_seconds"]


def test_illegal_transitions_are_409_and_change_nothing(client):
    incident = create(client)
    url = f"/api/v1/incidents/{incident['id']}"
    client.patch(url, json={"status": "in_progress"})
    response = client.patch(url, json={"status": "acknowledged", "note": "should not be stored"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    detail = client.get(url).json()
    assert detail["status"] == "in_progress" and detail["notes"] == []
    client.patch(url, json={"status": "resolved"})
    assert client.patch(url, json={"status": "in_progress"}).status_code == 409


def test_reopen_then_resolve_again(client):
    incident = create(client)
    url = f"/api/v1/incidents/{incident['id']}"
    client.patch(url, json={"status": "resolved"})
    reopened = client.patch(url, json={"status": "open"}).json()
    assert reopened["status"] == "open" and reopened["resolved_at"] is None and reopened["mttr_seconds"] is None
    assert client.patch(url, json={"status": "resolved"}).json()["mttr_seconds"] is not None
    assert "reopened" in [e["kind"] for e in client.get(url).json()["timeline"]]


@pytest.mark.parametrize("body", [{}, {"status": "closed"}, {"note": ""}, {"note": "a", "notes": "b"}])
def test_invalid_updates_are_422(client, body):
    incident = create(client)
    assert client.patch(f"/api/v1/incidents/{incident['id']}", json=body).status_code == 422


def test_reassignment_is_recorded(client):
    incident = create(client)
    updated = client.patch(f"/api/v1/incidents/{incident['id']}", json={"assigned_to": "carol", "author": "dave"}).json()
    assert updated["assigned_to"] == "carol"
    timeline = client.get(f"/api/v1/incidents/{incident['id']}/timeline").json()
    assert timeline[-1]["kind"] == "assigned" and timeline[-1]["actor"] == "dave"


def test_unknown_and_malformed_ids(client):
    unknown = uuid.uuid4()
    for method, path in [
        ("get", f"/api/v1/incidents/{unknown}"),
        ("get", f"/api/v1/incidents/{unknown}/metrics"),
        ("get", f"/api/v1/incidents/{unknown}/timeline"),
    ]:
        response = getattr(client, method)(path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert client.patch(f"/api/v1/incidents/{unknown}", json={"status": "resolved"}).status_code == 404
    assert client.post(f"/api/v1/incidents/{unknown}/notes", json={"body": "x"}).status_code == 404
    assert client.get("/api/v1/incidents/not-a-uuid").status_code == 422
    assert client.patch("/api/v1/incidents/42", json={"status": "resolved"}).status_code == 422


def test_notes_endpoint_and_timeline_events_from_other_services(client):
    incident = create(client)
    url = f"/api/v1/incidents/{incident['id']}"
    note = client.post(f"{url}/notes", json={"body": "<script>alert(1)</script>", "author": "eve"})
    assert note.status_code == 201 and note.json()["body"] == "<script>alert(1)</script>"
    event = client.post(
        f"{url}/timeline",
        json={"kind": "escalated", "actor": "oncall-service", "message": "Escalated to bob", "data": {"level": 1}, "assigned_to": "bob"},
    )
    assert event.status_code == 201
    assert client.get(url).json()["assigned_to"] == "bob"
    assert client.post(f"{url}/timeline", json={"kind": "Bad Kind!", "actor": "x", "message": "m"}).status_code == 422


def test_idempotency_key_replays_the_same_incident(client):
    headers = {"Idempotency-Key": "alert:123"}
    first = client.post("/api/v1/incidents", json=INCIDENT, headers=headers)
    again = client.post("/api/v1/incidents", json=INCIDENT, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert client.get("/api/v1/incidents").headers["x-total-count"] == "1"


def test_summary_and_metrics_endpoint(client):
    create(client, severity="critical")
    resolved = create(client, severity="low")
    client.patch(f"/api/v1/incidents/{resolved['id']}", json={"status": "resolved"})
    summary = client.get("/api/v1/incidents/summary").json()
    assert summary["by_status"] == {"open": 1, "acknowledged": 0, "in_progress": 0, "resolved": 1}
    assert summary["open_by_severity"]["critical"] == 1 and summary["open_by_severity"]["low"] == 0
    assert summary["mttr_avg_seconds"] is not None
    text = client.get("/metrics").text
    assert 'incidents_total{status="open"} 1.0' in text
    assert 'incidents_total{status="resolved"} 1.0' in text
    assert 'incidents_open{severity="critical"} 1.0' in text
    assert "incident_mttr_seconds_bucket" in text and "incident_mtta_seconds_count" in text
    assert 'incidents_created_total{service="frontend-api",severity="critical"}' in text


def test_summary_averages_mtta_and_mttr_over_every_incident_that_has_them(client, clean_db):
    rows = [
        ("resolved", "high", 60, 600),
        ("resolved", "low", 120, 1200),
        ("acknowledged", "high", 30, None),
        ("open", "medium", None, None),
    ]
    with clean_db.begin() as connection:
        for status_, severity, mtta, mttr in rows:
            connection.execute(
                text(
                    "INSERT INTO incident_management.incidents (title, service, severity, status, created_at, updated_at, "
                    "mtta_seconds, mttr_seconds) VALUES ('t', 'svc', :severity, :status, now(), now(), :mtta, :mttr)"
                ),
                {"status": status_, "severity": severity, "mtta": mtta, "mttr": mttr},
            )
    summary = client.get("/api/v1/incidents/summary").json()
    assert summary["by_status"] == {"open": 1, "acknowledged": 1, "in_progress": 0, "resolved": 2}
    assert summary["open_by_severity"] == {"critical": 0, "high": 1, "medium": 1, "low": 0}
    assert summary["mtta_avg_seconds"] == 70.0  # (60 + 120 + 30) / 3
    assert summary["mttr_avg_seconds"] == 900.0
