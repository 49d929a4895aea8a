"""Bad input gets a 422 in the platform's error shape and stores nothing (SPEC §2): NUL characters
PostgreSQL cannot hold, bodies that are not JSON, offsets beyond a bigint. Real database, no mocks."""

import pytest

INCIDENT = "6f1c1c8e-6a57-4a55-9d7e-0c2f1b0e9a11"
NOTIFY = {"incident_id": INCIDENT, "channel": "mock", "recipient": "alice", "message": "disk full"}


def field_errors(response) -> set[str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"]["code"] == "validation_error"
    return {detail["field"] for detail in body["error"]["details"]}


@pytest.mark.parametrize(("field", "value"), [("recipient", "ali\x00ce"), ("message", "disk\x00full")])
def test_nul_characters_are_refused_and_nothing_is_stored(client, field, value):
    assert field_errors(client.post("/api/v1/notify", json={**NOTIFY, field: value})) == {field}
    assert client.get("/api/v1/notifications").headers["X-Total-Count"] == "0"


def test_unicode_is_delivered_as_given(client):
    response = client.post("/api/v1/notify", json={**NOTIFY, "recipient": "Zoë 🔥", "message": "サービス停止"})
    assert response.status_code == 201, response.text
    assert (response.json()["recipient"], response.json()["message"]) == ("Zoë 🔥", "サービス停止")


def test_a_body_that_cannot_be_decoded_is_a_422(client):
    response = client.post("/api/v1/notify", content=b'{"message": "\xc3\x28"}', headers={"content-type": "application/json"})
    assert field_errors(response) == {"body"}
    assert client.get("/api/v1/notifications").headers["X-Total-Count"] == "0"


def test_an_offset_beyond_a_bigint_is_a_422(client):
    assert field_errors(client.get("/api/v1/notifications", params={"offset": 10**19})) == {"offset"}
