"""`POST /api/v1/escalate` and `GET /api/v1/escalations` through the oncall app, with the real
incident-management app and the notification stand-in over HTTP."""

import uuid

import httpx


def test_escalate_on_demand_walks_the_levels_then_refuses(api, schedule_body, open_incident, incident_management, notifier):
    stand_in, _ = notifier
    assert api.post("/api/v1/schedules", json=schedule_body).status_code == 201
    incident = open_incident()
    httpx.patch(f"{incident_management}/api/v1/incidents/{incident['id']}", json={"status": "acknowledged"})

    first = api.post("/api/v1/escalate", json={"incident_id": incident["id"], "reason": "need the database expert"})
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["level"], body["name"], body["status"], body["manual"], body["reason"]) == (
        1,
        "Bob",
        "paged",
        True,
        "need the database expert",
    )
    assert [p["recipient"] for p in stand_in.pages] == ["bob@example.org"]

    second = api.post("/api/v1/escalate", json={"incident_id": incident["id"]}).json()
    assert (second["level"], second["name"], second["reason"]) == (2, "Erin", "escalated on demand")
    third = api.post("/api/v1/escalate", json={"incident_id": incident["id"]})
    assert third.status_code == 409
    assert "last level" in third.json()["error"]["message"]

    listed = api.get("/api/v1/escalations", params={"incident_id": incident["id"]})
    assert listed.headers["X-Total-Count"] == "2"
    assert [e["level"] for e in listed.json()] == [2, 1]
    assert api.get("/api/v1/escalations", params={"team": "nobody"}).json() == []
    events = httpx.get(f"{incident_management}/api/v1/incidents/{incident['id']}/timeline").json()
    assert [e["data"]["to"] for e in events if e["kind"] == "escalated"] == ["Bob", "Erin"]


def test_escalate_refuses_unknown_resolved_and_unscheduled_incidents(api, schedule_body, open_incident, incident_management):
    assert api.post("/api/v1/escalate", json={"incident_id": str(uuid.uuid4())}).status_code == 404
    assert api.post("/api/v1/escalate", json={"incident_id": "not-a-uuid"}).status_code == 422
    unscheduled = open_incident(team="no-schedule")
    response = api.post("/api/v1/escalate", json={"incident_id": unscheduled["id"]})
    assert response.status_code == 409
    assert "no on-call schedule" in response.json()["error"]["message"]
    api.post("/api/v1/schedules", json=schedule_body)
    resolved = open_incident()
    httpx.patch(f"{incident_management}/api/v1/incidents/{resolved['id']}", json={"status": "resolved"})
    assert api.post("/api/v1/escalate", json={"incident_id": resolved["id"]}).status_code == 409


def test_escalate_with_notification_service_down_is_accepted_and_left_pending(api, schedule_body, open_incident, notifier):
    notifier[0].down = True
    api.post("/api/v1/schedules", json=schedule_body)
    incident = open_incident()
    response = api.post("/api/v1/escalate", json={"incident_id": incident["id"]})
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["attempts"]) == ("pending", 1)


def test_escalate_with_incident_management_down_is_503(client):
    response = client.post("/api/v1/escalate", json={"incident_id": str(uuid.uuid4())})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "dependency_unavailable"
