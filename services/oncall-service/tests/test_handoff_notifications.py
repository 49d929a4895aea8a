"""Handoff notifications: the incoming primary is paged once per turn, with several replicas, through a
recording notification-service stand-in and the real notification-service, on the real database. Time
moves through the injected clock, never by sleeping."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from oncall import service
from oncall.handoffs.notifier import HandoffNotifier
from oncall.handoffs.tables import notices
from oncall.schemas import OverrideCreate, ScheduleCreate
from platform_common.db import create_db_engine, create_session_factory
from platform_common.http import ServiceClient
from tests.support.servers import serve_in_thread

TEAM = "checkout-api"
TUESDAY = datetime(2025, 1, 7, 9, tzinfo=UTC)  # the daily 09:00 UTC handoff from Alice (Monday) to Bob


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock_at() -> FixedClock:
    return FixedClock(TUESDAY + timedelta(seconds=30))


@pytest.fixture
def make_notifier(database_url, notifier, clock_at) -> Iterator:
    """Builds handoff workers the way a replica does: its own pool, its own HTTP client."""
    built = []

    def make(channels=("mock", "webhook"), url: str = notifier[1]) -> HandoffNotifier:
        db = create_db_engine(database_url, pool_size=2)
        client = ServiceClient("notification-service", url, retries=0, timeout=2)
        built.append((db, client))
        return HandoffNotifier(create_session_factory(db), client, list(channels), clock_at, max_backoff_seconds=30)

    yield make
    for db, client in built:
        client.close()
        db.dispose()


@pytest.fixture
def make_schedule(clean_db, schedule_body):
    def make(**changes) -> dict:
        body = {**schedule_body, "start": "2025-01-06", "handoff_notifications": True, **changes}
        with create_session_factory(clean_db)() as session:
            created = service.create(session, data=ScheduleCreate(**body), now=TUESDAY)
            session.commit()
        return created

    return make


def notice_rows(db) -> list[dict]:
    with db.connect() as connection:
        return [dict(row) for row in connection.execute(select(notices).order_by(notices.c.shift_start)).mappings()]


def test_the_incoming_person_is_paged_once_on_every_channel_with_two_replicas(make_schedule, make_notifier, notifier, clock_at, clean_db):
    stand_in, _ = notifier
    make_schedule()
    replicas = [make_notifier(), make_notifier()]
    for worker in replicas * 2:
        worker.run_cycle()
    assert [(page["channel"], page["recipient"], page["key"]) for page in stand_in.pages] == [
        ("mock", "bob@example.org", "handoff:checkout-api:2025-01-07T09:00:00+00:00:mock"),
        ("webhook", "bob@example.org", "handoff:checkout-api:2025-01-07T09:00:00+00:00:webhook"),
    ]
    assert stand_in.pages[0]["message"] == "You are on call for checkout-api from Tue 2025-01-07 09:00 UTC to Wed 2025-01-08 09:00 UTC"
    [notice] = notice_rows(clean_db)
    assert (notice["name"], notice["status"], notice["attempts"]) == ("Bob", "sent", 1)

    clock_at.at += timedelta(hours=12)  # the same turn: nothing new
    replicas[0].run_cycle()
    assert len(stand_in.pages) == 2
    clock_at.at = TUESDAY + timedelta(days=1, minutes=1)  # Wednesday: back to Alice
    replicas[1].run_cycle()
    assert [page["recipient"] for page in stand_in.pages[2:]] == ["alice@example.org"] * 2


def test_off_by_default(make_schedule, make_notifier, notifier, clean_db):
    make_schedule(handoff_notifications=False)
    make_notifier().run_cycle()
    assert notifier[0].pages == []
    assert notice_rows(clean_db) == []


def test_a_turn_that_began_long_ago_is_not_announced(make_schedule, make_notifier, notifier, clock_at, clean_db):
    make_schedule()
    clock_at.at = TUESDAY + timedelta(hours=7)  # switched on (or the service came back) seven hours into Bob's turn
    make_notifier().run_cycle()
    assert notifier[0].pages == []


def test_layer_boundaries_and_overrides_are_handoffs(make_schedule, make_notifier, notifier, clock_at, clean_db):
    stand_in, _ = notifier
    evenings = {
        "name": "evenings",
        "rotation_type": "weekly",
        "start": "2025-01-06",
        "members": [{"name": "Carol", "email": "carol@example.org"}],
        "restrictions": [{"days": ["tue"], "start": "18:00", "end": "22:00"}],
    }
    make_schedule(layers=[evenings])
    with create_session_factory(clean_db)() as session:
        cover = OverrideCreate(name="Dave", email="dave@example.org", start=TUESDAY + timedelta(hours=5), end=TUESDAY + timedelta(hours=6))
        service.add_override(session, team=TEAM, data=cover, now=TUESDAY)
        session.commit()
    worker = make_notifier(channels=["mock"])
    for hours in (0, 2, 5, 6, 9, 13, 20):  # every handoff, and times in between
        clock_at.at = TUESDAY + timedelta(hours=hours, seconds=5)
        worker.run_cycle()
    assert [page["message"].removeprefix("You are on call for checkout-api from ") for page in stand_in.pages] == [
        "Tue 2025-01-07 09:00 UTC to Tue 2025-01-07 14:00 UTC",  # Bob, until Dave's override begins
        "Tue 2025-01-07 14:00 UTC to Tue 2025-01-07 15:00 UTC",  # Dave covers
        "Tue 2025-01-07 15:00 UTC to Tue 2025-01-07 18:00 UTC",  # Bob again
        "Tue 2025-01-07 18:00 UTC to Tue 2025-01-07 22:00 UTC",  # the evening layer
        "Tue 2025-01-07 22:00 UTC to Wed 2025-01-08 09:00 UTC",  # back to Bob below it
    ]
    assert [page["recipient"].split("@")[0] for page in stand_in.pages] == ["bob", "dave", "bob", "carol", "bob"]


def test_a_notice_waits_visibly_while_notification_service_is_down_and_expires_with_its_turn(
    make_schedule, make_notifier, notifier, clock_at, clean_db
):
    stand_in, _ = notifier
    make_schedule()
    worker = make_notifier(channels=["mock"])
    stand_in.down = True
    worker.run_cycle()
    [notice] = notice_rows(clean_db)
    assert (notice["status"], notice["attempts"]) == ("pending", 1)
    assert "503" in notice["last_error"]
    worker.run_cycle()  # not due again yet: backing off
    assert notice_rows(clean_db)[0]["attempts"] == 1

    stand_in.down = False
    clock_at.at += timedelta(seconds=3)
    worker.run_cycle()
    assert [(page["recipient"], page["key"]) for page in stand_in.pages] == [
        ("bob@example.org", "handoff:checkout-api:2025-01-07T09:00:00+00:00:mock")
    ]
    assert notice_rows(clean_db)[0]["status"] == "sent"

    stand_in.down = True
    clock_at.at = TUESDAY + timedelta(days=1, seconds=5)  # Alice's turn; still down when it ends
    worker.run_cycle()
    stand_in.down = False
    clock_at.at = TUESDAY + timedelta(days=2, seconds=5)
    worker.run_cycle()
    assert [(row["name"], row["status"]) for row in notice_rows(clean_db)] == [("Bob", "sent"), ("Alice", "expired"), ("Bob", "sent")]
    assert [page["recipient"] for page in stand_in.pages] == ["bob@example.org", "bob@example.org"]


def test_a_notice_notification_service_refuses_is_failed_not_retried(make_schedule, make_notifier, notifier, clock_at, clean_db):
    make_schedule()
    worker = make_notifier(channels=["rejected"])
    worker.run_cycle()
    clock_at.at += timedelta(minutes=5)
    worker.run_cycle()
    [notice] = notice_rows(clean_db)
    assert (notice["status"], notice["attempts"]) == ("failed", 1)
    assert "422" in notice["last_error"]


def test_the_real_notification_service_takes_the_notice_as_a_plain_notification(
    database_url, make_schedule, make_notifier, incident_management, clean_db
):
    from notification.config import Settings
    from notification.main import create_app

    settings = Settings(
        database_url=database_url, environment="test", background_workers=False, incident_management_url=incident_management
    )
    make_schedule()
    with serve_in_thread(create_app(settings)) as url:
        make_notifier(channels=["mock"], url=url).run_cycle()
        listed = httpx.get(f"{url}/api/v1/notifications", params={"channel": "mock"}).json()
    assert [(n["recipient"], n["message"]) for n in listed] == [
        ("bob@example.org", "You are on call for checkout-api from Tue 2025-01-07 09:00 UTC to Wed 2025-01-08 09:00 UTC")
    ]
    assert notice_rows(clean_db)[0]["status"] == "sent"
