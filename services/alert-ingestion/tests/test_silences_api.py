"""Silences and maintenance windows over real HTTP, with the real incident-management and PostgreSQL:
a silenced alert is stored `silenced` and opens and pages nothing; once the silence or the window is
over, the next alert opens an incident. Time is moved with the platform clock's offset file."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text

from platform_common.clock import OFFSET_FILE_ENV, utcnow


@pytest.fixture
def clock(tmp_path, monkeypatch):
    """Moves the platform clock of both in-process services forward."""
    offset = tmp_path / "clock-offset"
    offset.write_text("0")
    monkeypatch.setenv(OFFSET_FILE_ENV, str(offset))

    def move_to(delta: timedelta) -> None:
        offset.write_text(str(delta.total_seconds()))

    return move_to


def post_alert(base, service="checkout", **fields):
    response = httpx.post(f"{base}/api/v1/alerts", json={"service": service, "severity": "high", "message": "5xx", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def incidents_of(incidents_url, service):
    return httpx.get(f"{incidents_url}/api/v1/incidents", params={"service": service}).json()


def pages(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM incident_management.pages")).scalar()


def test_a_silence_on_checkout_until_it_is_expired(alerts_url, incidents_url, clean_db):
    ends = (utcnow() + timedelta(hours=2)).isoformat()
    created = httpx.post(
        f"{alerts_url}/api/v1/silences",
        json={"matchers": ['service="checkout"'], "ends_at": ends, "comment": "deploying checkout"},
    )
    assert created.status_code == 201, created.text
    silence = created.json()
    assert silence["created_by"] == "anonymous" and silence["state"] == "active"
    assert silence["matchers"] == [{"name": "service", "op": "=", "value": "checkout"}]

    silenced = post_alert(alerts_url)
    assert silenced == {**silenced, "status": "silenced", "action": "silenced", "incident_id": None}
    stored = httpx.get(f"{alerts_url}/api/v1/alerts/{silenced['alert_id']}").json()
    assert stored["silence_id"] == silence["id"] and stored["maintenance_window_id"] is None
    assert post_alert(alerts_url, service="billing")["status"] == "correlated"  # others are not silenced
    assert incidents_of(incidents_url, "checkout") == [] and pages(clean_db) == 1  # billing's page only

    expired = httpx.delete(f"{alerts_url}/api/v1/silences/{silence['id']}")
    assert expired.status_code == 200 and expired.json()["state"] == "expired"
    opened = post_alert(alerts_url)
    assert opened["status"] == "correlated" and opened["action"] == "new_incident"
    assert len(incidents_of(incidents_url, "checkout")) == 1 and pages(clean_db) == 2
    listing = httpx.get(f"{alerts_url}/api/v1/silences", params={"state": "expired"})
    assert [s["id"] for s in listing.json()] == [silence["id"]] and listing.headers["x-total-count"] == "1"
    assert httpx.get(f"{alerts_url}/api/v1/silences", params={"state": "active"}).json() == []


def test_a_silence_ends_by_itself(alerts_url, incidents_url, clock):
    start = utcnow()
    body = {"matchers": ['service="checkout"', 'env=~"prod|staging"'], "ends_at": (start + timedelta(hours=1)).isoformat(), "comment": "c"}
    assert httpx.post(f"{alerts_url}/api/v1/silences", json=body).status_code == 201
    assert post_alert(alerts_url, labels={"env": "prod"})["status"] == "silenced"
    assert post_alert(alerts_url, labels={"env": "dev"})["status"] == "correlated"  # not every matcher matches
    clock(timedelta(hours=1, minutes=1))
    assert post_alert(alerts_url, labels={"env": "prod"})["status"] == "correlated"


def test_a_weekly_maintenance_window_silences_at_its_times(alerts_url, incidents_url, clock):
    zone = ZoneInfo("America/New_York")
    begins = (utcnow() + timedelta(hours=2)).astimezone(zone).replace(second=0, microsecond=0)
    weekday = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][begins.weekday()]
    window = httpx.post(
        f"{alerts_url}/api/v1/maintenance-windows",
        json={
            "service": "checkout",
            "kind": "weekly",
            "weekdays": [weekday],
            "start_time": begins.strftime("%H:%M"),
            "duration_minutes": 60,
            "timezone": "America/New_York",
        },
    )
    assert window.status_code == 201, window.text
    window_id = window.json()["id"]
    assert window.json()["active"] is False and window.json()["name"] == "checkout maintenance"

    assert post_alert(alerts_url)["action"] == "new_incident"  # before the window

    def into_window(weeks: int, minutes: int) -> timedelta:
        """The clock offset to `minutes` after the window's start, `weeks` later (at the same local time)."""
        local_start = (begins.replace(tzinfo=None) + timedelta(weeks=weeks)).replace(tzinfo=zone)
        return local_start.astimezone(UTC) + timedelta(minutes=minutes) - datetime.now(UTC)

    for week in (0, 1):
        clock(into_window(week, 10))
        silenced = post_alert(alerts_url)
        assert silenced["status"] == "silenced", week
        assert httpx.get(f"{alerts_url}/api/v1/alerts/{silenced['alert_id']}").json()["maintenance_window_id"] == window_id
        assert httpx.get(f"{alerts_url}/api/v1/maintenance-windows").json()[0]["active"] is True
    assert len(incidents_of(incidents_url, "checkout")) == 1
    clock(into_window(1, 61))  # over
    assert post_alert(alerts_url)["action"] == "new_incident"
    # ended early: the next week's window no longer silences
    assert httpx.delete(f"{alerts_url}/api/v1/maintenance-windows/{window_id}").json()["ended_at"] is not None
    clock(into_window(2, 10))
    assert post_alert(alerts_url)["status"] == "correlated"


def test_a_one_off_window(alerts_url, clock):
    start = utcnow() + timedelta(minutes=30)
    body = {"service": "checkout", "kind": "once", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat()}
    assert httpx.post(f"{alerts_url}/api/v1/maintenance-windows", json=body).status_code == 201
    assert post_alert(alerts_url)["status"] == "correlated"
    clock(timedelta(minutes=31))
    assert post_alert(alerts_url)["status"] == "silenced"
    listed = httpx.get(f"{alerts_url}/api/v1/maintenance-windows", params={"service": "checkout", "state": "current"})
    assert len(listed.json()) == 1 and listed.json()[0]["active"] is True


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("silences", {"matchers": ['service="a"'], "ends_at": "2020-01-01T00:00:00Z", "comment": "past"}),
        ("silences", {"matchers": ['team=~".*"'], "ends_at": "2099-01-01T00:00:00Z", "comment": "matches everything"}),
        ("silences", {"matchers": ['service="a"'], "ends_at": "2099-01-01T00:00:00Z"}),  # no comment
        ("silences", {"matchers": ['team=~"[a"'], "ends_at": "2099-01-01T00:00:00Z", "comment": "bad regex"}),
        ("silences", {"matchers": ['service="a"'], "starts_at": "2099-02-01T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z", "comment": "c"}),
        ("maintenance-windows", {"service": "a", "kind": "weekly", "weekdays": ["mon"], "start_time": "02:00", "duration_minutes": 60}),
        (
            "maintenance-windows",
            {"service": "a", "kind": "weekly", "weekdays": ["monday"], "start_time": "02:00", "duration_minutes": 60, "timezone": "UTC"},
        ),
        (
            "maintenance-windows",
            {"service": "a", "kind": "weekly", "weekdays": ["mon"], "start_time": "02:00", "duration_minutes": 60, "timezone": "Mars/Base"},
        ),
        (
            "maintenance-windows",
            {"service": "a", "kind": "weekly", "weekdays": ["mon"], "start_time": "02:00", "duration_minutes": 20000, "timezone": "UTC"},
        ),
        ("maintenance-windows", {"service": "a", "kind": "once", "starts_at": "2099-01-02T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}),
        (
            "maintenance-windows",
            {"service": "a", "kind": "once", "starts_at": "2099-01-01T00:00:00Z", "ends_at": "2099-01-02T00:00:00Z", "timezone": "UTC"},
        ),
    ],
)
def test_bad_silences_and_windows_are_422_and_store_nothing(alerts_url, path, body):
    response = httpx.post(f"{alerts_url}/api/v1/{path}", json=body)
    assert response.status_code == 422, response.text
    assert httpx.get(f"{alerts_url}/api/v1/{path}").json() == []


def test_unknown_silence_and_window(alerts_url):
    assert httpx.delete(f"{alerts_url}/api/v1/silences/00000000-0000-0000-0000-000000000000").status_code == 404
    assert httpx.delete(f"{alerts_url}/api/v1/maintenance-windows/00000000-0000-0000-0000-000000000000").status_code == 404
