"""Bad input gets a 422 in the platform's error shape and changes nothing (SPEC §2): NUL characters
PostgreSQL cannot hold, NaN / Infinity in free-form JSON, bodies that are not JSON, offsets beyond a
bigint. Concurrent status changes on one incident stay serialised. Real database, no mocks."""

import itertools
import threading

import httpx
import pytest

from tests.support.apps import incident_management

INCIDENT = {"title": "Checkout 5xx > 10%", "service": "frontend-api", "severity": "high"}


def field_errors(response) -> set[str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"]["code"] == "validation_error"
    return {detail["field"] for detail in body["error"]["details"]}


def create(client) -> str:
    response = client.post("/api/v1/incidents", json=INCIDENT)
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.mark.parametrize(("field", "value"), [("title", "disk\x00full"), ("service", "api\x00"), ("assigned_to", "\x00")])
def test_nul_characters_in_a_new_incident_are_refused(client, field, value):
    assert field_errors(client.post("/api/v1/incidents", json={**INCIDENT, field: value})) == {field}
    assert client.get("/api/v1/incidents").headers["X-Total-Count"] == "0"


@pytest.mark.parametrize(
    ("change", "field"),
    [({"note": "a\x00b"}, "note"), ({"note": "ok", "author": "\x00"}, "author"), ({"assigned_to": "b\x00"}, "assigned_to")],
)
def test_nul_characters_in_an_update_change_nothing(client, change, field):
    incident_id = create(client)
    assert field_errors(client.patch(f"/api/v1/incidents/{incident_id}", json=change)) == {field}
    assert field_errors(client.post(f"/api/v1/incidents/{incident_id}/notes", json={"body": "x\x00"})) == {"body"}
    detail = client.get(f"/api/v1/incidents/{incident_id}").json()
    assert detail["notes"] == [] and [event["kind"] for event in detail["timeline"]] == ["created"]


@pytest.mark.parametrize("data", ['{"rate": NaN}', '{"rate": Infinity}', '{"rate": [1, -Infinity]}', '{"k": "\\u0000"}', '{"\\u0000": 1}'])
def test_timeline_data_jsonb_cannot_hold_is_refused(client, data):
    incident_id = create(client)
    body = '{"kind": "escalated", "actor": "oncall-service", "message": "paged bob", "data": ' + data + "}"
    response = client.post(f"/api/v1/incidents/{incident_id}/timeline", content=body, headers={"content-type": "application/json"})
    assert field_errors(response) == {"data"}
    assert len(client.get(f"/api/v1/incidents/{incident_id}/timeline").json()) == 1


def test_nested_timeline_data_with_big_numbers_and_unicode_is_kept(client):
    incident_id = create(client)
    data = {"levels": [{"name": "Zoë", "n": 10**30, "ratio": 0.5}], "🔥": None}
    response = client.post(
        f"/api/v1/incidents/{incident_id}/timeline", json={"kind": "escalated", "actor": "a", "message": "m", "data": data}
    )
    assert response.status_code == 201, response.text
    assert response.json()["data"] == data


def test_a_body_that_cannot_be_decoded_is_a_422(client):
    response = client.post("/api/v1/incidents", content=b'{"title": "\xff"}', headers={"content-type": "application/json"})
    assert field_errors(response) == {"body"}


def test_list_filters_and_offsets_the_database_cannot_take_are_a_422(client):
    assert field_errors(client.get("/api/v1/incidents", params={"offset": 10**19})) == {"offset"}
    assert field_errors(client.get("/api/v1/incidents", params={"service": "a\x00b"})) == {"service"}


def test_concurrent_status_changes_are_serialised(database_url, clean_db):
    statuses = ["acknowledged", "in_progress", "resolved", "open"] * 2
    barrier = threading.Barrier(len(statuses))
    answers: list[int] = []
    with incident_management(database_url) as url, httpx.Client(base_url=url, timeout=30) as api:
        incident_id = create(api)

        def patch(status: str) -> None:
            barrier.wait()
            answers.append(
                httpx.patch(f"{url}/api/v1/incidents/{incident_id}", json={"status": status, "note": status}, timeout=30).status_code
            )

        threads = [threading.Thread(target=patch, args=(status,)) for status in statuses]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        detail = api.get(f"/api/v1/incidents/{incident_id}").json()
    assert set(answers) <= {200, 409} and 200 in answers
    # every accepted change wrote its note; each status event follows from the one before it
    assert len(detail["notes"]) == answers.count(200)
    moves = [event["data"] for event in detail["timeline"] if "from" in event["data"]]
    assert all(earlier["to"] == later["from"] for earlier, later in itertools.pairwise(moves))
    assert (moves[-1]["to"] if moves else "open") == detail["status"]
