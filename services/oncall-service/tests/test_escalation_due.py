"""Due-driven escalation at volume, on the real database: what is due comes from one query per batch
over incident-management's `escalation_candidates` view, however many newer incidents are open, and no
transaction or lock is held while a peer is called. Incidents for volume are inserted straight into
`incident_management.incidents`; time moves through the injected clock."""

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Header, Request, Response
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import Engine, select, text

from oncall import service
from oncall.config import Settings
from oncall.engine import EscalationEngine
from oncall.engine.delivery import LEASE_SECONDS
from oncall.engine.due import due_levels
from oncall.main import create_app
from oncall.schemas import ScheduleCreate
from oncall.tables import escalations
from platform_common.clock import utcnow
from platform_common.db import create_db_engine, create_session_factory
from platform_common.http import ServiceClient
from tests.support.servers import serve_in_thread

TEAM = "checkout-api"
CHANNELS = ["webhook", "email"]
STORM = 10_000

_INSERT_INCIDENTS = text("""
INSERT INTO incident_management.incidents (title, service, severity, status, created_at, updated_at)
SELECT 'incident ' || g, :team, 'high', :status, t, t
FROM generate_series(0, :count - 1) AS g, LATERAL (SELECT :first + make_interval(secs => g * :step) AS t) AS at
RETURNING id
""")


def insert_incidents(
    db: Engine, *, count: int, first: datetime, step_seconds: float = 1.0, team: str = TEAM, status: str = "open"
) -> list[Any]:
    """`count` incidents created `step_seconds` apart from `first`, in one statement; their ids in that order."""
    with db.begin() as connection:
        params = {"team": team, "status": status, "count": count, "first": first, "step": step_seconds}
        return list(connection.execute(_INSERT_INCIDENTS, params).scalars())


def freeze(db: Engine, incident_id: Any, *, created_at: datetime, minutes: int, levels: int, claimed: int) -> None:
    """An incident already escalating under its own frozen policy, with `claimed` levels paged."""
    people = [{"name": f"L{n}", "email": f"l{n}@example.org"} for n in range(1, levels + 1)]
    with db.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO oncall.escalation_policies (incident_id, team, snapshot, incident_created_at, created_at) "
                "VALUES (:id, :team, CAST(:snapshot AS jsonb), :at, :at)"
            ),
            {"id": incident_id, "team": TEAM, "snapshot": json.dumps({"escalation_minutes": minutes, "levels": people}), "at": created_at},
        )
        for level in range(1, claimed + 1):
            connection.execute(
                text(
                    "INSERT INTO oncall.escalations (incident_id, team, level, name, email, reason, manual, status, next_attempt_at, "
                    "created_at) VALUES (:id, :team, :level, 'x', 'x@example.org', 'test', false, 'paged', :at, :at)"
                ),
                {"id": incident_id, "team": TEAM, "level": level, "at": created_at},
            )


class ObservingNotifier:
    """notification-service stand-in: one page per Idempotency-Key; runs `on_page` while a request is in flight."""

    def __init__(self) -> None:
        self.pages: list[dict[str, Any]] = []
        self.on_page = None
        self.app = FastAPI()
        self.app.post("/api/v1/notify")(self._notify)

    def _notify(self, body: dict[str, Any], idempotency_key: str = Header()) -> Response:
        if self.on_page is not None:
            self.on_page()
        if idempotency_key not in {page["key"] for page in self.pages}:
            self.pages.append({**body, "key": idempotency_key})
        return Response(status_code=201, content="{}", media_type="application/json")


@pytest.fixture
def observing_notifier() -> Iterator[tuple[ObservingNotifier, str]]:
    stand_in = ObservingNotifier()
    with serve_in_thread(stand_in.app) as url:
        yield stand_in, url


@pytest.fixture
def recorded_incident_management(database_url, clean_db) -> Iterator[tuple[str, list[tuple[str, str, str | None]]]]:
    """The real incident-management app over HTTP, noting (method, path, Idempotency-Key) of each request."""
    from incident_management.config import Settings as IncidentSettings
    from incident_management.main import create_app as create_incident_app

    unreachable = "http://127.0.0.1:9"
    app = create_incident_app(
        IncidentSettings(
            database_url=database_url,
            environment="test",
            background_workers=False,
            http_retries=0,
            oncall_service_url=unreachable,
            notification_service_url=unreachable,
        )
    )
    seen: list[tuple[str, str, str | None]] = []

    @app.middleware("http")
    async def note(request: Request, call_next):
        seen.append((request.method, request.url.path, request.headers.get("Idempotency-Key")))
        return await call_next(request)

    with serve_in_thread(app) as url:
        yield url, seen


@pytest.fixture
def team_schedule(clean_db, schedule_body) -> dict[str, Any]:
    with create_session_factory(clean_db)() as session:
        created = service.create(session, data=ScheduleCreate(**schedule_body), now=utcnow())
        session.commit()
    return created


@pytest.fixture
def engines(database_url, clock) -> Iterator:
    """Builds engines the way a replica does: its own pool and HTTP clients, the test's clock."""
    built = []

    def make(incidents_url: str, notifier_url: str, **options: Any) -> EscalationEngine:
        db = create_db_engine(database_url, pool_size=2)
        clients = (
            ServiceClient("incident-management", incidents_url, retries=0, timeout=5),
            ServiceClient("notification-service", notifier_url, retries=0, timeout=5),
        )
        built.append((db, clients))
        return EscalationEngine(create_session_factory(db), *clients, CHANNELS, max_backoff_seconds=30, clock=clock, **options)

    yield make
    for db, clients in built:
        for client in clients:
            client.close()
        db.dispose()


def rows(db: Engine) -> list[dict[str, Any]]:
    with db.connect() as connection:
        return [dict(row) for row in connection.execute(select(escalations).order_by(escalations.c.created_at)).mappings()]


def test_an_older_due_incident_is_claimed_next_cycle_behind_ten_thousand_newer_open_ones(
    team_schedule, engines, open_incident, incident_management, notifier, clock, clean_db
):
    older = open_incident()
    created = datetime.fromisoformat(older["created_at"])
    # Newer incidents of the same team, none due yet: the old listing (newest 5,000) never reached `older`.
    insert_incidents(clean_db, count=STORM, first=created + timedelta(minutes=2), step_seconds=0.07)
    engine = engines(incident_management, notifier[1])
    clock.advance(minutes=16)

    assert engine.run_cycle() == {"claimed": 1, "delivered": 1}
    (row,) = rows(clean_db)
    assert (str(row["incident_id"]), row["level"], row["name"], row["status"]) == (older["id"], 1, "Bob", "paged")
    assert [p["recipient"] for p in notifier[0].pages] == ["bob@example.org"] * len(CHANNELS)


def test_due_levels_come_earliest_deadline_first_in_batches_until_none_is_left(team_schedule, clean_db, engines, clock):
    now = clock()
    # 25 incidents whose level 1 (15 minutes, the schedule's policy) is due, one second apart.
    due_first = insert_incidents(clean_db, count=25, first=now - timedelta(minutes=20))
    # Escalating under a frozen 1-minute policy, level 1 claimed: level 2 fell due between the 22nd and 23rd.
    frozen_at = now - timedelta(minutes=7, seconds=-21.5)
    (frozen,) = insert_incidents(clean_db, count=1, first=frozen_at)
    freeze(clean_db, frozen, created_at=frozen_at, minutes=1, levels=3, claimed=1)
    # Left alone: at its last level; acknowledged; a team without a schedule; not due yet.
    (finished,) = insert_incidents(clean_db, count=1, first=now - timedelta(hours=2))
    freeze(clean_db, finished, created_at=now - timedelta(hours=2), minutes=1, levels=2, claimed=2)
    insert_incidents(clean_db, count=3, first=now - timedelta(hours=1), status="acknowledged")
    insert_incidents(clean_db, count=3, first=now - timedelta(hours=1), team="no-schedule")
    insert_incidents(clean_db, count=3, first=now - timedelta(minutes=10))

    with create_session_factory(clean_db)() as session:
        seen, after = [], None
        while batch := due_levels(session, now=now, after=after, limit=10):
            assert len(batch) <= 10
            seen.extend(batch)
            after = batch[-1].cursor
    assert [(due.incident.id, due.level) for due in seen] == [
        *((i, 1) for i in due_first[:22]),
        (frozen, 2),
        *((i, 1) for i in due_first[22:]),
    ]
    assert [due.due_at for due in seen] == sorted(due.due_at for due in seen)

    assert engines("http://127.0.0.1:9", "http://127.0.0.1:9", batch_size=10).claim_due() == 26
    assert sorted((r["incident_id"], r["level"]) for r in rows(clean_db) if r["reason"] != "test") == sorted(
        [*((i, 1) for i in due_first), (frozen, 2)]
    )


def test_no_transaction_or_lock_is_held_while_a_peer_is_called(
    team_schedule, engines, open_incident, incident_management, observing_notifier, clock, clean_db
):
    stand_in, notifier_url = observing_notifier
    observed: list[tuple[int, int, bool]] = []

    def observe() -> None:
        with clean_db.connect() as connection:
            idle_in_transaction = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state LIKE 'idle in transaction%' AND query LIKE '%oncall.%'"
                )
            ).scalar_one()
            advisory = connection.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")).scalar_one()
            lockable = connection.execute(text("SELECT count(*) FROM (SELECT id FROM oncall.escalations FOR UPDATE SKIP LOCKED) AS free"))
            free, total = lockable.scalar_one(), connection.execute(text("SELECT count(*) FROM oncall.escalations")).scalar_one()
            connection.rollback()
        observed.append((idle_in_transaction, advisory, free == total))

    stand_in.on_page = observe
    engine = engines(incident_management, notifier_url)
    automatic, on_demand = open_incident(), open_incident()
    clock.advance(minutes=16)
    assert engine.claim_due() == 2
    httpx.patch(f"{incident_management}/api/v1/incidents/{on_demand['id']}", json={"status": "acknowledged"})
    assert engine.deliverer.deliver_due() == 2  # the automatic page goes out; the acknowledged one is cancelled
    assert engine.escalate_now(on_demand["id"], "need a DBA")["status"] == "paged"  # level 2, on demand

    assert len(observed) == 2 * len(CHANNELS)
    assert set(observed) == {(0, 0, True)}, "an engine transaction or lock was open during a page"
    assert {(str(r["incident_id"]), r["level"], r["status"]) for r in rows(clean_db)} == {
        (automatic["id"], 1, "paged"),
        (on_demand["id"], 1, "cancelled"),
        (on_demand["id"], 2, "paged"),
    }


def test_timeline_writes_carry_an_idempotency_key_per_incident_and_level(
    team_schedule, engines, recorded_incident_management, notifier, clock
):
    incidents_url, seen = recorded_incident_management
    incident = httpx.post(
        f"{incidents_url}/api/v1/incidents", json={"title": "down", "service": TEAM, "severity": "critical", "assigned_to": "Alice"}
    ).json()
    engine = engines(incidents_url, notifier[1])
    clock.advance(minutes=31)
    assert engine.run_cycle() == {"claimed": 1, "delivered": 1}
    assert engine.run_cycle() == {"claimed": 1, "delivered": 1}, "one level per incident per cycle"
    timeline_writes = [(path, key) for method, path, key in seen if method == "POST" and path.endswith("/timeline")]
    assert timeline_writes == [
        (f"/api/v1/incidents/{incident['id']}/timeline", f"escalation-event:{incident['id']}:{level}") for level in (1, 2)
    ]


def test_a_lease_that_runs_out_mid_delivery_passes_to_another_replica_and_counts_once(
    team_schedule, engines, open_incident, incident_management, observing_notifier, clock, clean_db
):
    """Replica A stalls in its first page past the lease; replica B takes the row over and delivers it;
    A's late outcome is then refused, so the level is recorded and counted once."""
    stand_in, notifier_url = observing_notifier
    first, second = engines(incident_management, notifier_url), engines(incident_management, notifier_url)
    incident = open_incident()
    clock.advance(minutes=16)
    assert first.claim_due() == 1
    taken_over: list[int] = []

    def stall_past_the_lease() -> None:
        stand_in.on_page = None
        clock.advance(seconds=LEASE_SECONDS + 1)
        taken_over.append(second.deliverer.deliver_due())

    stand_in.on_page = stall_past_the_lease
    before = REGISTRY.get_sample_value("escalations_total", {"team": TEAM}) or 0.0
    assert first.deliverer.deliver_due() == 1

    assert taken_over == [1]
    (row,) = rows(clean_db)
    assert (row["status"], row["attempts"]) == ("paged", 1)
    assert REGISTRY.get_sample_value("escalations_total", {"team": TEAM}) == before + 1
    assert sorted(p["key"] for p in stand_in.pages) == sorted(f"escalation:{incident['id']}:1:{c}:bob@example.org" for c in CHANNELS)


def test_without_the_view_nothing_is_claimed_but_claimed_levels_are_still_delivered(
    team_schedule, engines, open_incident, incident_management, notifier, clock, clean_db
):
    engine = engines(incident_management, notifier[1])
    open_incident()
    clock.advance(minutes=16)
    assert engine.claim_due() == 1
    with clean_db.begin() as connection:
        connection.execute(text("ALTER VIEW incident_management.escalation_candidates RENAME TO escalation_candidates_hidden"))
    try:
        clock.advance(minutes=15)
        assert engine.run_cycle() == {"claimed": 0, "delivered": 1}
    finally:
        with clean_db.begin() as connection:
            connection.execute(text("ALTER VIEW incident_management.escalation_candidates_hidden RENAME TO escalation_candidates"))
    assert [r["status"] for r in rows(clean_db)] == ["paged"]


def test_claimed_levels_wake_the_delivery_workers_and_a_quiet_cycle_does_not(team_schedule, engines, open_incident, notifier, clock):
    """Claimed escalations are delivered side by side: the claiming cycle wakes the delivery workers."""
    woken: list[int] = []
    engine = engines("http://127.0.0.1:9", notifier[1])
    engine.wake_deliverers = lambda: woken.append(1)
    open_incident()
    assert engine.claim_due() == 0 and engine.run_cycle()["claimed"] == 0
    assert woken == []
    clock.advance(minutes=16)
    assert engine.run_cycle()["claimed"] == 1
    assert woken == [1]


def test_a_replica_runs_the_configured_number_of_escalation_delivery_workers(database_url, clean_db):
    settings = Settings(database_url=database_url, environment="test", background_workers=False, escalation_delivery_workers=3)
    with TestClient(create_app(settings)) as client:
        names = [worker.name for worker in client.app.state.workers]
    assert names[:4] == ["escalation", "escalation-delivery-0", "escalation-delivery-1", "escalation-delivery-2"]
