"""The schedules, overrides, shifts and current on-call API, on the real test database."""

from datetime import UTC, datetime, timedelta

from platform_common.clock import utcnow


def create(client, body):
    response = client.post("/api/v1/schedules", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def field_errors(response) -> set[str]:
    assert response.status_code == 422, response.text
    return {detail["field"] for detail in response.json()["error"]["details"]}


def test_seed_example_with_roles_gets_defaults_and_answers_current(client):
    body = {
        "team": "payments",
        "rotation_type": "weekly",
        "members": [
            {"name": "Alice", "email": "alice@example.org", "role": "primary"},
            {"name": "Bob", "email": "bob@example.org", "role": "secondary"},
        ],
    }
    schedule = create(client, body)
    assert (schedule["handoff_time"], schedule["timezone"], schedule["escalation_minutes"]) == ("09:00", "UTC", 15)
    assert schedule["members"][0] == {"name": "Alice", "email": "alice@example.org", "role": "primary", "user_id": None}
    current = client.get("/api/v1/oncall/current", params={"team": "payments"})
    assert current.status_code == 200
    data = current.json()
    assert data["team"] == "payments"
    assert {data["primary"]["name"], data["secondary"]["name"]} == {"Alice", "Bob"}
    start, end = (datetime.fromisoformat(data[k]) for k in ("shift_start", "shift_end"))
    assert start <= utcnow() < end
    assert end - start == timedelta(days=7)


def test_a_date_start_means_its_handoff_time_in_the_schedule_zone(client, schedule_body):
    schedule_body.update(start="2025-01-06", timezone="Europe/Berlin", handoff_time="08:30")
    schedule = create(client, schedule_body)
    assert datetime.fromisoformat(schedule["start"]) == datetime(2025, 1, 6, 7, 30, tzinfo=UTC)
    naive = create(client, {**schedule_body, "team": "naive", "start": "2025-01-06T10:00:00"})
    assert datetime.fromisoformat(naive["start"]) == datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def test_the_same_team_twice_is_a_conflict(client, schedule_body):
    create(client, schedule_body)
    again = client.post("/api/v1/schedules", json=schedule_body)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_invalid_schedules_are_refused_field_by_field(client, schedule_body):
    assert field_errors(client.post("/api/v1/schedules", json={**schedule_body, "timezone": "Mars/Olympus"})) == {"timezone"}
    assert field_errors(client.post("/api/v1/schedules", json={**schedule_body, "members": []})) == {"members"}
    assert field_errors(client.post("/api/v1/schedules", json={**schedule_body, "rotation_type": "hourly"})) == {"rotation_type"}
    assert field_errors(client.post("/api/v1/schedules", json={**schedule_body, "handoff_time": "25:00"})) == {"handoff_time"}
    assert field_errors(client.post("/api/v1/schedules", json={**schedule_body, "escalation_minutes": 0})) == {"escalation_minutes"}
    bad_email = {**schedule_body, "members": [{"name": "Alice", "email": "not-an-address"}]}
    assert field_errors(client.post("/api/v1/schedules", json=bad_email)) == {"members.0.email"}
    assert field_errors(client.post("/api/v1/schedules", json={k: v for k, v in schedule_body.items() if k != "team"})) == {"team"}


def test_list_get_update_and_delete(client, schedule_body):
    create(client, schedule_body)
    create(client, {**schedule_body, "team": "auth"})
    listed = client.get("/api/v1/schedules", params={"limit": 1})
    assert listed.headers["X-Total-Count"] == "2"
    assert [s["team"] for s in listed.json()] == ["auth"]
    original = client.get("/api/v1/schedules/checkout-api").json()

    patched = client.patch("/api/v1/schedules/checkout-api", json={"escalation_minutes": 5, "timezone": "America/New_York"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["escalation_minutes"], patched.json()["timezone"]) == (5, "America/New_York")
    assert patched.json()["members"] == original["members"]
    assert patched.json()["start"] == original["start"]
    nulls = client.patch("/api/v1/schedules/checkout-api", json={"rotation_type": None, "members": None, "escalation_levels": []})
    assert nulls.status_code == 200, nulls.text
    assert (nulls.json()["rotation_type"], nulls.json()["escalation_levels"]) == ("daily", [])
    assert nulls.json()["members"] == original["members"]

    replaced = client.put("/api/v1/schedules/checkout-api", json={"members": [{"name": "Zoe", "email": "zoe@example.org"}]})
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert [m["name"] for m in body["members"]] == ["Zoe"]
    assert (body["escalation_minutes"], body["timezone"], body["escalation_levels"]) == (15, "UTC", [])
    assert body["start"] == original["start"]
    current = client.get("/api/v1/oncall/current", params={"team": "checkout-api"}).json()
    assert current["primary"]["name"] == current["secondary"]["name"] == "Zoe"

    restarted = client.put("/api/v1/schedules/checkout-api", json={**schedule_body, "start": "2030-01-01"})
    assert restarted.json()["start"].startswith("2030-01-01T09:00")
    renamed = client.put("/api/v1/schedules/checkout-api", json={**schedule_body, "team": "other"})
    assert field_errors(renamed) == {"team"}

    assert client.delete("/api/v1/schedules/checkout-api").status_code == 204
    assert client.get("/api/v1/schedules/checkout-api").status_code == 404
    assert client.delete("/api/v1/schedules/checkout-api").status_code == 404
    assert client.patch("/api/v1/schedules/nobody", json={"escalation_minutes": 3}).status_code == 404


def test_current_for_an_unknown_team_is_404_and_team_is_required(client):
    response = client.get("/api/v1/oncall/current", params={"team": "ghosts"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert field_errors(client.get("/api/v1/oncall/current")) == {"team"}


def test_overrides_cover_the_primary_and_refuse_overlaps(client, schedule_body):
    create(client, schedule_body)
    now = utcnow()
    window = {
        "name": "Carol",
        "email": "carol@example.org",
        "start": (now - timedelta(hours=1)).isoformat(),
        "end": (now + timedelta(hours=2)).isoformat(),
    }
    added = client.post("/api/v1/schedules/checkout-api/overrides", json=window)
    assert added.status_code == 201, added.text
    current = client.get("/api/v1/oncall/current", params={"team": "checkout-api"}).json()
    assert current["primary"] == {"name": "Carol", "email": "carol@example.org"}
    assert current["overridden"] is True
    # The override ends the shift, unless the daily 09:00 UTC handoff comes first (a run between 07:00 and 09:00).
    handoff = now.replace(hour=9, minute=0, second=0, microsecond=0)
    handoff += timedelta(days=1) if handoff <= now else timedelta()
    assert datetime.fromisoformat(current["shift_end"]) == min(datetime.fromisoformat(window["end"]), handoff)
    everyone = client.get("/api/v1/oncall").json()
    assert [(c["team"], c["primary"]["name"]) for c in everyone] == [("checkout-api", "Carol")]

    overlapping = {**window, "start": (now + timedelta(hours=1)).isoformat(), "end": (now + timedelta(hours=5)).isoformat()}
    assert client.post("/api/v1/schedules/checkout-api/overrides", json=overlapping).status_code == 409
    past = {**window, "start": (now - timedelta(days=3)).isoformat(), "end": (now - timedelta(days=2)).isoformat()}
    assert client.post("/api/v1/schedules/checkout-api/overrides", json=past).status_code == 201

    listed = client.get("/api/v1/schedules/checkout-api/overrides")
    assert [o["id"] for o in listed.json()] == [added.json()["id"]]
    assert client.get("/api/v1/schedules/checkout-api/overrides", params={"include_past": True}).headers["X-Total-Count"] == "2"

    assert client.delete(f"/api/v1/schedules/checkout-api/overrides/{added.json()['id']}").status_code == 204
    assert client.delete(f"/api/v1/schedules/checkout-api/overrides/{added.json()['id']}").status_code == 404
    assert client.get("/api/v1/oncall/current", params={"team": "checkout-api"}).json()["overridden"] is False


def test_invalid_overrides(client, schedule_body):
    create(client, schedule_body)
    backwards = {"name": "Carol", "email": "carol@example.org", "start": "2025-01-02T00:00:00Z", "end": "2025-01-01T00:00:00Z"}
    assert client.post("/api/v1/schedules/checkout-api/overrides", json=backwards).status_code == 422
    naive = {**backwards, "start": "2025-01-01T00:00:00", "end": "2025-01-02T00:00:00"}
    assert client.post("/api/v1/schedules/checkout-api/overrides", json=naive).status_code == 422
    fine = {**backwards, "start": "2025-01-01T00:00:00Z", "end": "2025-01-02T00:00:00Z"}
    assert client.post("/api/v1/schedules/nobody/overrides", json=fine).status_code == 404
    assert client.get("/api/v1/schedules/nobody/overrides").status_code == 404


def test_shifts_list_upcoming_turns_with_overrides(client, schedule_body):
    create(
        client,
        {**schedule_body, "start": "2025-01-06", "members": [*schedule_body["members"], {"name": "Carol", "email": "c@example.org"}]},
    )
    override = {"name": "Dave", "email": "dave@example.org", "start": "2025-01-07T20:00:00Z", "end": "2025-01-08T12:00:00Z"}
    assert client.post("/api/v1/schedules/checkout-api/overrides", json=override).status_code == 201
    response = client.get("/api/v1/schedules/checkout-api/shifts", params={"from": "2025-01-06T12:00:00Z", "until": "2025-01-09T09:00:00Z"})
    assert response.status_code == 200, response.text
    assert [(s["primary"]["name"], s["secondary"]["name"], s["overridden"]) for s in response.json()] == [
        ("Alice", "Bob", False),
        ("Bob", "Carol", False),
        ("Dave", "Carol", True),
        ("Dave", "Alice", True),
        ("Carol", "Alice", False),
    ]
    assert len(client.get("/api/v1/schedules/checkout-api/shifts", params={"limit": 3}).json()) == 3
    default = client.get("/api/v1/schedules/checkout-api/shifts").json()
    assert len(default) == 15  # 14 days from inside a shift touch 15 daily shifts


def test_shift_windows_are_validated(client, schedule_body):
    create(client, schedule_body)
    url = "/api/v1/schedules/checkout-api/shifts"
    assert field_errors(client.get(url, params={"from": "2025-01-02T00:00:00Z", "until": "2025-01-01T00:00:00Z"})) == {"until"}
    assert field_errors(client.get(url, params={"from": "2025-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z"})) == {"until"}
    assert field_errors(client.get(url, params={"from": "2025-01-01T00:00:00"})) == {"from"}
    assert field_errors(client.get(url, params={"limit": 0})) == {"limit"}
    assert client.get("/api/v1/schedules/nobody/shifts").status_code == 404


def test_health_ready_and_oncall_current_metric(client, schedule_body):
    assert client.get("/health").json() == {"status": "ok", "service": "oncall-service"}
    assert client.get("/ready").status_code == 200
    create(client, schedule_body)
    text = client.get("/metrics").text
    lines = [line for line in text.splitlines() if line.startswith("oncall_current{")]
    assert len(lines) == 2
    assert any('role="primary"' in line and 'team="checkout-api"' in line and line.endswith(" 1.0") for line in lines)
    assert any('role="secondary"' in line for line in lines)
