"""The pager holds no transaction or lock while it asks oncall-service and notification-service, and a
page whose lease runs out mid-delivery passes to another replica, recorded once. Real PostgreSQL, stand-in
peers over real HTTP, a clock the test moves."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI, Header, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, select, text

from incident_management import paging, service
from incident_management.paging import LEASE_SECONDS, Pager
from incident_management.schemas import IncidentCreate
from incident_management.tables import pages
from platform_common.db import create_session_factory
from platform_common.http import ServiceClient
from tests.support.servers import serve_in_thread

CHANNELS = ["mock", "webhook"]
PRIMARY = {"name": "alice", "email": "alice@example.com"}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class ObservingPeers:
    """oncall-service and notification-service stand-ins that run `during_call` while a request is in
    flight; notification-service answers `notify_status` when one is set."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        self.during_call: Callable[[str], None] | None = None
        self.notify_status: int | None = None
        self.app = FastAPI()
        self.app.get("/api/v1/oncall/current")(self._current)
        self.app.post("/api/v1/notify")(self._notify)

    def _current(self, team: str) -> dict[str, Any]:
        if self.during_call is not None:
            self.during_call("oncall")
        return {"team": team, "primary": PRIMARY}

    def _notify(self, body: dict[str, Any], idempotency_key: str = Header()) -> Response:
        if self.during_call is not None:
            self.during_call("notify")
        if self.notify_status is not None:
            return JSONResponse({"error": "down"}, status_code=self.notify_status)
        self.notifications.append({**body, "key": idempotency_key})
        return JSONResponse({"id": str(len(self.notifications)), "status": "pending"}, status_code=201)


@pytest.fixture
def peers() -> Iterator[tuple[ObservingPeers, str]]:
    stand_in = ObservingPeers()
    with serve_in_thread(stand_in.app) as url:
        yield stand_in, url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pagers(clean_db, peers, clock) -> Iterator[Callable[[], Pager]]:
    """Builds pagers the way replicas run them (each with its own HTTP clients), on the test's clock."""
    _, url = peers
    with ExitStack() as clients:

        def client(name: str) -> ServiceClient:
            made = ServiceClient(name, url, retries=0, timeout=10)
            clients.callback(made.close)
            return made

        session_factory = create_session_factory(clean_db)
        yield lambda: Pager(session_factory, client("oncall-service"), client("notification-service"), CHANNELS, 30, clock)


def open_incident(db: Engine, now: datetime) -> Any:
    """An unassigned incident with its page queued, as incident-management writes them when oncall-service is down."""
    with create_session_factory(db)() as session:
        (incident,) = service.create_many(
            session, [(IncidentCreate(title="Checkout down", service="checkout", severity="critical"), None, None)], now=now
        )
        service.queue_pages(session, [{"incident_id": incident["id"], "recipient": None}], reason="new_incident", now=now)
        session.commit()
    return incident["id"]


def page_rows(db: Engine) -> list[dict[str, Any]]:
    with db.connect() as connection:
        return [dict(row) for row in connection.execute(select(pages)).mappings()]


def timeline_kinds(db: Engine, incident_id: Any) -> list[str]:
    with create_session_factory(db)() as session:
        return [event["kind"] for event in service.events(session, incident_id=incident_id)]


def test_no_transaction_or_lock_is_held_while_peers_are_called(pagers, peers, clock, clean_db):
    stand_in, _ = peers
    observed: list[tuple[str, int, bool, bool]] = []

    def observe(call: str) -> None:
        with clean_db.connect() as connection:
            idle_in_transaction = connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'")
            ).scalar_one()
            free = {}
            for table in ("pages", "incidents"):
                lockable = connection.execute(
                    text(f"SELECT count(*) FROM (SELECT id FROM incident_management.{table} FOR UPDATE SKIP LOCKED) AS f")
                )
                total = connection.execute(text(f"SELECT count(*) FROM incident_management.{table}"))
                free[table] = lockable.scalar_one() == total.scalar_one()
            connection.rollback()
        observed.append((call, idle_in_transaction, free["pages"], free["incidents"]))

    stand_in.during_call = observe
    incident_id = open_incident(clean_db, clock())

    assert pagers().deliver_due() == 1

    assert [call for call, *_ in observed] == ["oncall", "notify", "notify"]
    assert {tuple(o[1:]) for o in observed} == {(0, True, True)}, f"a pager transaction or lock was open during a call: {observed}"
    (page,) = page_rows(clean_db)
    assert (page["status"], page["recipient"], page["attempts"]) == ("sent", PRIMARY["email"], 1)
    assert timeline_kinds(clean_db, incident_id) == ["created", "assigned", "paged"]


def test_a_lease_that_runs_out_mid_page_passes_to_another_replica_and_is_recorded_once(pagers, peers, clock, clean_db):
    """Replica A stalls in its first notification past the lease; replica B takes the page over and
    delivers it; A's late outcome is then refused: one `assigned`, one `paged`, one key per channel."""
    stand_in, _ = peers
    first, second = pagers(), pagers()
    incident_id = open_incident(clean_db, clock())
    taken_over: list[int] = []

    def stall_past_the_lease(call: str) -> None:
        if call != "notify":
            return
        stand_in.during_call = None
        taken_over.append(second.deliver_due())  # the page is leased: nobody else takes it
        clock.advance(LEASE_SECONDS)
        taken_over.append(second.deliver_due())

    stand_in.during_call = stall_past_the_lease
    assert first.deliver_due() == 1

    assert taken_over == [0, 1]
    (page,) = page_rows(clean_db)
    assert (page["status"], page["attempts"], page["recipient"]) == ("sent", 1, PRIMARY["email"])
    assert timeline_kinds(clean_db, incident_id) == ["created", "assigned", "paged"]
    assert sorted({n["key"] for n in stand_in.notifications}) == sorted(f"page:{page['id']}:{channel}" for channel in CHANNELS)
    assert first.deliver_due() == second.deliver_due() == 0, "a delivered page is never taken again"


def test_a_page_whose_peer_is_down_is_retried_after_its_backoff_not_before(pagers, peers, clock, clean_db):
    stand_in, _ = peers
    stand_in.notify_status = 503
    incident_id = open_incident(clean_db, clock())
    pager = pagers()
    assert pager.deliver_due() == 1
    (page,) = page_rows(clean_db)
    assert (page["status"], page["attempts"], page["next_attempt_at"]) == ("pending", 1, clock() + timedelta(seconds=2))

    stand_in.notify_status = None
    clock.advance(1)
    assert pager.deliver_due() == 0
    clock.advance(1)
    assert pager.deliver_due() == 1
    (page,) = page_rows(clean_db)
    assert (page["status"], page["attempts"]) == ("sent", 2)
    assert timeline_kinds(clean_db, incident_id) == ["created", "assigned", "page_pending", "paged"]


def test_a_cycle_asks_for_more_pages_only_after_a_full_batch(pagers, clock, clean_db, monkeypatch):
    """Leasing fewer pages than a batch means every page due was leased: the cycle ends without a lease
    that would find none (a page queued later wakes a worker)."""
    leased: list[int] = []
    take_many = paging.outbox.take_many

    def counted(*args: Any, **kwargs: Any) -> Any:
        rows = take_many(*args, **kwargs)
        leased.append(len(rows))
        return rows

    monkeypatch.setattr(paging.outbox, "take_many", counted)
    monkeypatch.setattr(paging, "PAGES_PER_BATCH", 2)
    open_incident(clean_db, clock())
    assert pagers().deliver_due() == 1
    assert leased == [1]

    leased.clear()
    for _ in range(2):
        open_incident(clean_db, clock())
    assert pagers().deliver_due() == 2
    assert leased == [2, 0]
    assert {row["status"] for row in page_rows(clean_db)} == {"sent"}
