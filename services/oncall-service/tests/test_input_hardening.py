"""Bad input gets a 422 in the platform's error shape and changes nothing (SPEC §2): NUL characters
PostgreSQL cannot hold, instants the rotation math or a read-back cannot handle, offsets beyond a
bigint. Before, a schedule starting in year 1 was stored and then broke `GET /api/v1/oncall` for every
team. Real database, no mocks."""

import pytest

MEMBERS = [{"name": "Alice", "email": "alice@example.org"}, {"name": "Bob", "email": "bob@example.org"}]


def field_errors(response) -> set[str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"]["code"] == "validation_error"
    return {detail["field"] for detail in body["error"]["details"]}


@pytest.mark.parametrize(
    "start", ["0001-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-14:00", "0001-01-01", "9999-12-31"]
)
def test_a_rotation_start_at_the_edge_of_time_is_refused(client, start):
    assert field_errors(client.post("/api/v1/schedules", json={"team": "db", "start": start, "members": MEMBERS})) == {"start"}
    assert client.get("/api/v1/schedules").headers["X-Total-Count"] == "0"
    assert client.get("/api/v1/oncall").status_code == 200


def test_odd_offsets_within_range_still_work(client):
    response = client.post("/api/v1/schedules", json={"team": "db", "start": "2025-01-01T00:00:00+23:59", "members": MEMBERS})
    assert response.status_code == 201, response.text
    assert response.json()["start"] == "2024-12-31T00:01:00Z"
    assert client.get("/api/v1/oncall/current", params={"team": "db"}).status_code == 200
    assert field_errors(client.patch("/api/v1/schedules/db", json={"start": "0001-01-01T00:00:00Z"})) == {"start"}


@pytest.mark.parametrize(
    ("param", "value"), [("from", "0001-01-01T00:00:00Z"), ("from", "9999-12-31T23:59:59Z"), ("until", "9999-12-31T00:00:00Z")]
)
def test_a_shift_window_at_the_edge_of_time_is_refused(client, param, value):
    client.post("/api/v1/schedules", json={"team": "db", "members": MEMBERS})
    assert field_errors(client.get("/api/v1/schedules/db/shifts", params={param: value})) == {param}


def test_an_override_outside_the_utc_range_is_refused(client):
    client.post("/api/v1/schedules", json={"team": "db", "members": MEMBERS})
    body = {"name": "Carol", "email": "carol@example.org", "start": "0001-01-01T00:00:00+14:00", "end": "2025-01-01T00:00:00Z"}
    assert field_errors(client.post("/api/v1/schedules/db/overrides", json=body)) == {"start"}
    listed = client.get("/api/v1/schedules/db/overrides", params={"include_past": True})
    assert listed.status_code == 200 and listed.json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"team": "d\x00b", "members": MEMBERS}, "team"),
        ({"team": "db", "members": [{"name": "A\x00", "email": "a@example.org"}]}, "members.0.name"),
        ({"team": "db", "members": [{"name": "A", "email": "a\x00@example.org"}]}, "members.0.email"),
    ],
)
def test_nul_characters_in_a_schedule_are_refused(client, body, field):
    assert field_errors(client.post("/api/v1/schedules", json=body)) == {field}
    assert client.get("/api/v1/schedules").headers["X-Total-Count"] == "0"


def test_nul_characters_in_team_names_of_paths_and_queries_are_a_422(client):
    assert field_errors(client.get("/api/v1/schedules/d%00b")) == {"team"}
    assert field_errors(client.delete("/api/v1/schedules/d%00b")) == {"team"}
    assert field_errors(client.get("/api/v1/oncall/current", params={"team": "d\x00b"})) == {"team"}
    assert field_errors(client.get("/api/v1/escalations", params={"team": "\x00"})) == {"team"}


def test_offsets_beyond_a_bigint_are_a_422(client):
    assert field_errors(client.get("/api/v1/schedules", params={"offset": 10**19})) == {"offset"}
    assert field_errors(client.get("/api/v1/escalations", params={"offset": 10**19})) == {"offset"}
