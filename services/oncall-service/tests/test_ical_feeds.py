"""iCal feeds (SPEC §12) on the real database: parsed with the icalendar library, equal to the shifts API
across a DST change with an override, a user's feed holds exactly their stretches, secret URLs only.

The platform clock is moved to 2027-03-20 12:00 UTC, so the feed window (7 days back, 60 ahead) spans
Europe/Berlin's spring-forward night (2027-03-28) and America/New_York's (2027-03-14).
"""

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar

from oncall.main import create_app
from platform_common.clock import OFFSET_FILE_ENV

ADMIN_TOKEN = "test-bootstrap-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NOW = datetime(2027, 3, 20, 12, 0, tzinfo=UTC)
CAROL_OVERRIDE = (datetime(2027, 3, 26, 18, 0, tzinfo=UTC), datetime(2027, 3, 29, 12, 0, tzinfo=UTC))
# Spring forward in Berlin: 09:00 local is 08:00 UTC before and 07:00 UTC after; Carol's override is
# cut at the handoffs inside it, one of them 23 hours long.
CAROL_STRETCHES = [
    (CAROL_OVERRIDE[0], datetime(2027, 3, 27, 8, 0, tzinfo=UTC)),
    (datetime(2027, 3, 27, 8, 0, tzinfo=UTC), datetime(2027, 3, 28, 7, 0, tzinfo=UTC)),
    (datetime(2027, 3, 28, 7, 0, tzinfo=UTC), datetime(2027, 3, 29, 7, 0, tzinfo=UTC)),
    (datetime(2027, 3, 29, 7, 0, tzinfo=UTC), CAROL_OVERRIDE[1]),
]


@pytest.fixture
def move_clock(tmp_path, monkeypatch):
    """Sets the platform clock (utcnow) of the in-process service to an instant."""
    offset = tmp_path / "clock-offset"
    monkeypatch.setenv(OFFSET_FILE_ENV, str(offset))

    def move_to(instant: datetime) -> None:
        offset.write_text(str((instant - datetime.now(UTC)).total_seconds()))

    move_to(NOW)
    return move_to


def make_client(oncall_settings, **overrides: Any) -> TestClient:
    settings = oncall_settings(anonymous_role="none", bootstrap_admin_token=ADMIN_TOKEN, auth_cache_seconds=0, **overrides)
    return TestClient(create_app(settings))


@pytest.fixture
def app_client(oncall_settings, clean_db, move_clock) -> Iterator[TestClient]:
    with make_client(oncall_settings) as client:
        yield client


def created(response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()


def user(client: TestClient, name: str) -> dict[str, Any]:
    """A responder with a personal API token: {id, email, headers}."""
    body = {"name": name, "email": f"{name.lower()}@example.org", "role": "responder"}
    row = created(client.post("/api/v1/users", json=body, headers=ADMIN))
    token = created(client.post(f"/api/v1/users/{row['id']}/tokens", json={"name": "cli"}, headers=ADMIN))["token"]
    return {**row, "headers": {"Authorization": f"Bearer {token}"}}


@pytest.fixture
def people(app_client: TestClient) -> dict[str, dict[str, Any]]:
    """Alice (a member as a user), Bob (a member by email in one schedule, as a user in another), Carol
    (no member, on call through an override across the DST night), Dan (a member who is no user)."""
    found = {name: user(app_client, name) for name in ("Alice", "Bob", "Carol")}
    checkout = {
        "team": "checkout-api",
        "rotation_type": "daily",
        "timezone": "Europe/Berlin",
        "handoff_time": "09:00",
        "start": "2027-03-01",
        "members": [
            {"user_id": found["Alice"]["id"]},
            {"name": "Robert", "email": "bob@example.org"},
            {"name": "Dan", "email": "dan@example.org"},
        ],
    }
    created(app_client.post("/api/v1/schedules", json=checkout, headers=ADMIN))
    payments = {
        "team": "payments",
        "rotation_type": "weekly",
        "timezone": "America/New_York",
        "handoff_time": "10:00",
        "start": "2027-03-01",
        "members": [{"name": "Erin", "email": "erin@example.org"}, {"user_id": found["Bob"]["id"]}],
    }
    created(app_client.post("/api/v1/schedules", json=payments, headers=ADMIN))
    override = {"name": "Carol", "email": "carol@example.org", "start": CAROL_OVERRIDE[0].isoformat(), "end": CAROL_OVERRIDE[1].isoformat()}
    created(app_client.post("/api/v1/schedules/checkout-api/overrides", json=override, headers=ADMIN))
    return found


def feed_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def fetch(client: TestClient, url: str) -> tuple[Calendar, list[dict[str, Any]]]:
    """GET a feed without any credential and parse it with the icalendar library."""
    answer = client.get(feed_path(url))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(answer.content)
    events = [
        {
            "uid": str(event["UID"]),
            "start": event.decoded("DTSTART"),
            "end": event.decoded("DTEND"),
            "summary": str(event["SUMMARY"]),
            "dtstamp": event.decoded("DTSTAMP"),
        }
        for event in calendar.walk("VEVENT")
    ]
    return calendar, events


def shifts(client: TestClient, team: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
    params = {"from": since.isoformat(), "until": until.isoformat(), "limit": 500}
    answer = client.get(f"/api/v1/schedules/{team}/shifts", params=params, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return [{**s, "start": datetime.fromisoformat(s["start"]), "end": datetime.fromisoformat(s["end"])} for s in answer.json()]


def schedule_url(client: TestClient, team: str = "checkout-api") -> str:
    return created(client.post(f"/api/v1/schedules/{team}/ical-token", headers=ADMIN))["url"]


def user_url(client: TestClient, person: dict[str, Any]) -> str:
    return created(client.post(f"/api/v1/users/{person['id']}/ical-token", headers=person["headers"]))["url"]


def test_the_team_feed_equals_the_shifts_api_for_30_days_across_dst_with_an_override(app_client, people):
    url = schedule_url(app_client)
    assert url.startswith("http://testserver/api/v1/schedules/checkout-api/ical?token=ipc_")
    calendar, events = fetch(app_client, url)
    assert (str(calendar["VERSION"]), str(calendar["PRODID"])) == ("2.0", "-//Incident Platform//On-call schedules//EN")

    until = NOW + timedelta(days=30)
    expected = [
        (s["start"], s["end"], f"On call: checkout-api (primary): {s['primary']['name']}")
        for s in shifts(app_client, "checkout-api", NOW, until)
    ]
    in_window = [(e["start"], e["end"], e["summary"]) for e in events if e["end"] > NOW and e["start"] < until]
    assert in_window == expected
    assert len(expected) >= 30

    carol = [(e["start"], e["end"]) for e in events if e["summary"].endswith(": Carol")]
    assert carol == CAROL_STRETCHES
    assert all(e["start"].utcoffset() == timedelta(0) and e["dtstamp"] is not None for e in events)
    # The window: from the stretch containing 7 days ago to past 60 days ahead, nothing missing between.
    assert events[0]["start"] <= NOW - timedelta(days=7) < events[0]["end"]
    assert events[-1]["end"] >= NOW + timedelta(days=60)
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(events))
    assert len({e["uid"] for e in events}) == len(events)


def test_uids_are_stable_across_fetches(app_client, people, move_clock):
    url = schedule_url(app_client)
    _, first = fetch(app_client, url)
    move_clock(NOW + timedelta(hours=30))
    _, later = fetch(app_client, url)
    first_by_start = {e["start"]: e["uid"] for e in first}
    common = [e for e in later if e["start"] in first_by_start]
    assert len(common) >= len(first) - 2
    assert all(first_by_start[e["start"]] == e["uid"] for e in common)


def test_a_users_feed_holds_exactly_their_stretches_in_every_schedule(app_client, people):
    since, until = NOW - timedelta(days=7), NOW + timedelta(days=60)
    every = {team: shifts(app_client, team, since, until) for team in ("checkout-api", "payments")}

    def expected(email: str) -> list[tuple[datetime, datetime, str]]:
        mine = [
            (s["start"], s["end"], f"On call: {team} (primary)")
            for team, rows in every.items()
            for s in rows
            if s["primary"]["email"] == email
        ]
        return sorted(mine)

    for name in ("Alice", "Bob", "Carol"):
        person = people[name]
        calendar, events = fetch(app_client, user_url(app_client, person))
        assert str(calendar["X-WR-CALNAME"]) == f"On call: {name}"
        assert expected(person["email"]), name
        assert [(e["start"], e["end"], e["summary"]) for e in events] == expected(person["email"]), name
    bob_teams = {e["summary"] for e in fetch(app_client, user_url(app_client, people["Bob"]))[1]}
    assert bob_teams == {"On call: checkout-api (primary)", "On call: payments (primary)"}  # by email and as a user
    carol = fetch(app_client, user_url(app_client, people["Carol"]))[1]
    assert [(e["start"], e["end"]) for e in carol] == CAROL_STRETCHES  # on call only through the override


def test_a_wrong_missing_or_foreign_token_is_404_and_rotating_invalidates_the_old_url(app_client, people):
    old = schedule_url(app_client)
    assert app_client.get(feed_path(old)).status_code == 200
    bob_url = user_url(app_client, people["Bob"])
    refusals = [
        "/api/v1/schedules/checkout-api/ical",
        "/api/v1/schedules/checkout-api/ical?token=ipc_wrong",
        "/api/v1/schedules/nobody/ical?" + urlsplit(old).query,  # the right secret, another team
        "/api/v1/schedules/payments/ical?" + urlsplit(old).query,
        f"/api/v1/users/{people['Alice']['id']}/ical?" + urlsplit(bob_url).query,
        f"/api/v1/users/{people['Bob']['id']}/ical?" + urlsplit(old).query,
        f"/api/v1/users/{people['Bob']['id']}/ical",
    ]
    for path in refusals:
        answer = app_client.get(path)
        assert (answer.status_code, answer.json()["error"]["message"]) == (404, "No such calendar feed"), path

    new = schedule_url(app_client)
    assert new != old
    assert app_client.get(feed_path(old)).status_code == 404
    assert app_client.get(feed_path(new)).status_code == 200
    new_bob = user_url(app_client, people["Bob"])
    assert app_client.get(feed_path(bob_url)).status_code == 404
    assert app_client.get(feed_path(new_bob)).status_code == 200

    assert app_client.delete("/api/v1/schedules/checkout-api", headers=ADMIN).status_code == 204
    assert app_client.get(feed_path(new)).status_code == 404


def test_who_may_create_a_feed_url(app_client, people):
    alice, bob = people["Alice"], people["Bob"]
    assert app_client.post("/api/v1/schedules/checkout-api/ical-token", headers=alice["headers"]).status_code == 403
    assert app_client.post("/api/v1/schedules/checkout-api/ical-token").status_code == 401
    assert app_client.post("/api/v1/schedules/nobody/ical-token", headers=ADMIN).status_code == 404
    assert app_client.post(f"/api/v1/users/{bob['id']}/ical-token", headers=alice["headers"]).status_code == 403
    assert app_client.post(f"/api/v1/users/{bob['id']}/ical-token", headers=ADMIN).status_code == 201
    assert app_client.post("/api/v1/users/00000000-0000-0000-0000-000000000000/ical-token", headers=ADMIN).status_code == 404


def test_feed_urls_name_the_public_url_when_set(oncall_settings, clean_db, move_clock):
    with make_client(oncall_settings, public_url="https://oncall.example.org/") as client:
        created(
            client.post("/api/v1/schedules", json={"team": "ops", "members": [{"name": "Ann", "email": "ann@example.org"}]}, headers=ADMIN)
        )
        url = schedule_url(client, "ops")
        assert url.startswith("https://oncall.example.org/api/v1/schedules/ops/ical?token=ipc_")
        assert len(fetch(client, url)[1]) >= 9  # weekly: the stretch 7 days ago through 60 days ahead


def test_a_user_on_call_only_through_a_layer_has_those_stretches_in_their_feed(app_client):
    erin = user(app_client, "Erin")
    weekends = {
        "team": "weekend-desk",
        "rotation_type": "weekly",
        "timezone": "Europe/Berlin",
        "handoff_time": "09:00",
        "start": "2027-03-01",
        "members": [{"name": "Base", "email": "base@example.org"}],
        "layers": [
            {
                "name": "weekends",
                "rotation_type": "weekly",
                "start": "2027-03-01",
                "handoff_time": "09:00",
                "members": [{"user_id": erin["id"]}],
                "restrictions": [{"days": ["sat", "sun"], "start": "00:00", "end": "00:00"}],
            }
        ],
    }
    created(app_client.post("/api/v1/schedules", json=weekends, headers=ADMIN))
    since, until = NOW - timedelta(days=7), NOW + timedelta(days=60)
    expected = [(s["start"], s["end"]) for s in shifts(app_client, "weekend-desk", since, until) if s["primary"]["email"] == erin["email"]]
    _, events = fetch(app_client, user_url(app_client, erin))
    assert expected and [(e["start"], e["end"]) for e in events] == expected
