"""Schedule layers and restrictions through the API, on the real test database: stored and shown,
reflected by the shifts API and oncall/current, bad input refused with nothing stored."""

from datetime import UTC, datetime, timedelta

from platform_common.clock import utcnow

BUSINESS_HOURS = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "18:00"}
DAY_LAYER = {
    "name": "business hours",
    "rotation_type": "daily",
    "start": "2025-03-24",
    "handoff_time": "09:00",
    "members": [{"name": "Carol", "email": "carol@example.org"}, {"name": "Dave", "email": "dave@example.org"}],
    "restrictions": [BUSINESS_HOURS],
}


def berlin_schedule(schedule_body, **changes):
    return {**schedule_body, "rotation_type": "weekly", "timezone": "Europe/Berlin", "start": "2025-03-24", **changes}


def create(client, body):
    response = client.post("/api/v1/schedules", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def shifts(client, since: str, until: str):
    response = client.get("/api/v1/schedules/checkout-api/shifts", params={"from": since, "until": until})
    assert response.status_code == 200, response.text
    return [(s["primary"]["name"], s["secondary"]["name"], s["start"], s["end"]) for s in response.json()]


def test_a_schedule_without_layers_reads_as_before(client, schedule_body):
    schedule = create(client, schedule_body)
    assert (schedule["layers"], schedule["handoff_notifications"]) == ([], False)


def test_layers_are_stored_and_shown(client, schedule_body):
    schedule = create(client, berlin_schedule(schedule_body, layers=[DAY_LAYER], handoff_notifications=True))
    assert schedule["handoff_notifications"] is True
    [layer] = schedule["layers"]
    assert (layer["name"], layer["rotation_type"], layer["handoff_time"]) == ("business hours", "daily", "09:00")
    assert datetime.fromisoformat(layer["start"]) == datetime(2025, 3, 24, 8, tzinfo=UTC)  # 09:00 Berlin
    assert [m["name"] for m in layer["members"]] == ["Carol", "Dave"]
    assert layer["restrictions"] == [BUSINESS_HOURS]
    assert client.get("/api/v1/schedules/checkout-api").json()["layers"] == schedule["layers"]


def test_the_shifts_api_splits_at_restriction_boundaries_across_the_summer_time_change(client, schedule_body):
    create(client, berlin_schedule(schedule_body, layers=[DAY_LAYER]))
    # Thursday noon to Monday noon, Berlin; summer time starts on Sunday 2025-03-30.
    assert shifts(client, "2025-03-27T11:00:00Z", "2025-03-31T10:00:00Z") == [
        ("Dave", "Carol", "2025-03-27T08:00:00Z", "2025-03-27T17:00:00Z"),
        ("Alice", "Bob", "2025-03-27T17:00:00Z", "2025-03-28T08:00:00Z"),
        ("Carol", "Dave", "2025-03-28T08:00:00Z", "2025-03-28T17:00:00Z"),
        ("Alice", "Bob", "2025-03-28T17:00:00Z", "2025-03-31T07:00:00Z"),  # Monday 09:00 is 07:00 UTC in summer
        ("Dave", "Carol", "2025-03-31T07:00:00Z", "2025-03-31T16:00:00Z"),
    ]


def test_an_override_wins_over_the_layers(client, schedule_body):
    create(client, berlin_schedule(schedule_body, layers=[DAY_LAYER]))
    override = {"name": "Erin", "email": "erin@example.org", "start": "2025-03-27T10:00:00Z", "end": "2025-03-27T12:00:00Z"}
    assert client.post("/api/v1/schedules/checkout-api/overrides", json=override).status_code == 201
    assert shifts(client, "2025-03-27T09:00:00Z", "2025-03-27T13:00:00Z") == [
        ("Dave", "Carol", "2025-03-27T08:00:00Z", "2025-03-27T10:00:00Z"),
        ("Erin", "Carol", "2025-03-27T10:00:00Z", "2025-03-27T12:00:00Z"),  # the scheduled secondary stays
        ("Dave", "Carol", "2025-03-27T12:00:00Z", "2025-03-27T17:00:00Z"),
    ]


def _window_around(at: datetime, before: timedelta, after: timedelta) -> dict:
    """A restriction (UTC) on the weekday of `at - before`, from then to `at + after`."""
    start, end = at - before, at + after
    return {"days": [("mon", "tue", "wed", "thu", "fri", "sat", "sun")[start.weekday()]], "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}


def test_oncall_current_follows_the_layer_that_is_on(client, schedule_body):
    now = utcnow().replace(second=0, microsecond=0)
    layer = {**DAY_LAYER, "start": None, "members": [{"name": "Carol", "email": "carol@example.org"}]}
    create(client, {**schedule_body, "layers": [{**layer, "restrictions": [_window_around(now, timedelta(hours=1), timedelta(hours=2))]}]})
    current = client.get("/api/v1/oncall/current", params={"team": "checkout-api"}).json()
    assert (current["primary"]["name"], current["secondary"]["name"]) == ("Carol", "Carol")
    assert datetime.fromisoformat(current["shift_end"]) <= now + timedelta(hours=2)
    assert [row["primary"]["name"] for row in client.get("/api/v1/oncall").json()] == ["Carol"]

    later = _window_around(now + timedelta(hours=3), timedelta(), timedelta(hours=1))  # off now: the rotation below shows through
    patched = client.patch("/api/v1/schedules/checkout-api", json={"layers": [{**layer, "restrictions": [later]}]})
    assert patched.status_code == 200, patched.text
    current = client.get("/api/v1/oncall/current", params={"team": "checkout-api"}).json()
    assert current["primary"]["name"] in ("Alice", "Bob")
    assert datetime.fromisoformat(current["shift_end"]) <= now + timedelta(hours=3)


def test_a_layer_given_again_without_start_keeps_its_turns_and_put_without_layers_drops_them(client, schedule_body):
    created = create(client, berlin_schedule(schedule_body, layers=[DAY_LAYER]))
    unstarted = {k: v for k, v in DAY_LAYER.items() if k != "start"}
    patched = client.patch("/api/v1/schedules/checkout-api", json={"layers": [{**unstarted, "restrictions": []}]}).json()
    assert patched["layers"][0]["start"] == created["layers"][0]["start"]
    assert patched["layers"][0]["restrictions"] == []
    assert client.patch("/api/v1/schedules/checkout-api", json={"escalation_minutes": 5}).json()["layers"] == patched["layers"]
    echoed = client.put("/api/v1/schedules/checkout-api", json=berlin_schedule(schedule_body, team=None, layers=created["layers"]))
    assert echoed.status_code == 200, echoed.text
    assert echoed.json()["layers"] == created["layers"]  # what GET shows is a valid body
    replaced = client.put("/api/v1/schedules/checkout-api", json=berlin_schedule(schedule_body, team=None))
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["layers"] == []


def test_a_layer_member_may_be_a_user(client, schedule_body):
    user = client.post("/api/v1/users", json={"name": "Rita", "email": "rita@example.org", "role": "responder"})
    assert user.status_code == 201, user.text
    layer = {**DAY_LAYER, "members": [{"user_id": user.json()["id"]}]}
    schedule = create(client, berlin_schedule(schedule_body, layers=[layer]))
    assert schedule["layers"][0]["members"] == [{"name": "Rita", "email": "rita@example.org", "role": None, "user_id": user.json()["id"]}]
    client.patch(f"/api/v1/users/{user.json()['id']}", json={"name": "Rita R."})
    assert client.get("/api/v1/schedules/checkout-api").json()["layers"][0]["members"][0]["name"] == "Rita R."


def test_bad_layers_are_refused_and_nothing_is_stored(client, schedule_body):
    def refused(layer) -> set[str]:
        response = client.post("/api/v1/schedules", json={**schedule_body, "layers": [layer]})
        assert response.status_code == 422, response.text
        return {detail["field"] for detail in response.json()["error"]["details"]}

    assert refused({**DAY_LAYER, "restrictions": [{**BUSINESS_HOURS, "days": ["mon", "someday"]}]}) == {"layers.0.restrictions.0.days.1"}
    assert refused({**DAY_LAYER, "restrictions": [{**BUSINESS_HOURS, "days": []}]}) == {"layers.0.restrictions.0.days"}
    assert refused({**DAY_LAYER, "restrictions": [{**BUSINESS_HOURS, "end": "24:00"}]}) == {"layers.0.restrictions.0.end"}
    assert refused({**DAY_LAYER, "members": []}) == {"layers.0.members"}
    assert refused({**DAY_LAYER, "rotation_type": "hourly"}) == {"layers.0.rotation_type"}
    assert refused({**DAY_LAYER, "members": [{"user_id": "00000000-0000-0000-0000-000000000001"}]}) == {"layers"}
    twice = client.post("/api/v1/schedules", json={**schedule_body, "layers": [DAY_LAYER, DAY_LAYER]})
    assert twice.status_code == 422
    assert client.get("/api/v1/schedules/checkout-api").status_code == 404
    create(client, schedule_body)
    bad_patch = client.patch("/api/v1/schedules/checkout-api", json={"layers": [{**DAY_LAYER, "name": ""}]})
    assert bad_patch.status_code == 422
    assert client.get("/api/v1/schedules/checkout-api").json()["layers"] == []
