"""Workers lease rows instead of holding locks (SPEC §13): no lock and no open transaction while a
notification or a timeline report is sent, an expired lease (a killed worker) is taken again so nothing
is lost, and a worker that lost its lease cannot overwrite what another recorded. Real PostgreSQL, real
HTTP."""

from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID

import pytest
from sqlalchemy import select, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from notification import reports, service
from notification.tables import timeline_reports
from platform_common.db import create_session_factory
from tests.support.servers import serve_in_thread


class LockProbe:
    """A webhook receiver and an incident timeline that, while the sender waits for their answer, ask
    PostgreSQL whether the row being sent is locked and whether any session sits idle inside a transaction."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.findings: list[dict] = []

    async def hook(self, request: Request):
        notification_id = (await request.json())["notification_id"]
        self._look("SELECT id FROM notification.notifications WHERE id = :id FOR UPDATE NOWAIT", id=notification_id)
        return PlainTextResponse("ok")

    async def timeline(self, request: Request):
        self._look(
            "SELECT id FROM notification.timeline_reports WHERE idempotency_key = :key FOR UPDATE NOWAIT",
            key=request.headers["idempotency-key"],
        )
        return JSONResponse({}, status_code=201)

    def _look(self, lock_row: str, **params: str) -> None:
        with self.engine.connect() as connection:
            try:
                connection.execute(text(lock_row), params)
                locked = False
            except Exception:  # noqa: BLE001 - LockNotAvailable: the sender holds the row
                locked = True
            connection.rollback()
            idle = connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'")
            ).scalar_one()
        self.findings.append({"row_locked": locked, "idle_in_transaction": idle})


@pytest.fixture
def probe(clean_db) -> Iterator[tuple[LockProbe, str]]:
    receiver = LockProbe(clean_db)
    routes = [
        Route("/hook", receiver.hook, methods=["POST"]),
        Route("/api/v1/incidents/{incident_id}/timeline", receiver.timeline, methods=["POST"]),
    ]
    with serve_in_thread(Starlette(routes=routes)) as url:
        yield receiver, url


def test_no_row_lock_or_open_transaction_is_held_while_sending(client, probe, notify, deliver):
    receiver, url = probe
    created = notify(client, channel="webhook", recipient=f"{url}/hook")
    assert deliver(client) == 1
    assert receiver.findings == [{"row_locked": False, "idle_in_transaction": 0}]
    assert client.get(f"/api/v1/notifications/{created['id']}").json()["status"] == "sent"


def test_no_row_lock_or_open_transaction_is_held_while_a_timeline_report_is_sent(make_client, probe, notify, clock, clean_db):
    receiver, url = probe
    client = make_client(incident_management_url=url)
    created = notify(client)
    with create_session_factory(clean_db)() as session:
        notification = service.get_or_raise(session, notification_id=UUID(created["id"]))
        reports.queue(session, kind="page_failing", notification=notification, error="HTTP 503", attempts=3, now=clock())
        session.commit()
    assert client.app.state.reporter.report_due() == 1
    assert receiver.findings == [{"row_locked": False, "idle_in_transaction": 0}]
    with clean_db.connect() as connection:
        assert connection.execute(select(timeline_reports.c.status, timeline_reports.c.attempts)).one() == ("sent", 1)


def test_a_leased_notification_is_skipped_by_other_workers_until_the_lease_runs_out(make_client, clock, notify, deliver):
    one, two = make_client(delivery_lease_seconds=60), make_client(delivery_lease_seconds=60)
    created = notify(one)
    leased = one.app.state.dispatcher.claim()  # ... and then this worker is killed: it never records anything
    assert str(leased["id"]) == created["id"] and leased["next_attempt_at"] == clock() + timedelta(seconds=60)
    assert deliver(two) == 0
    clock.advance(59)
    assert deliver(two) == 0
    clock.advance(1)
    assert deliver(two) == 1, "the expired lease is taken again: nothing is lost"
    detail = two.get(f"/api/v1/notifications/{created['id']}").json()
    assert (detail["status"], detail["attempts"]) == ("sent", 1)

    one.app.state.dispatcher.deliver(leased)  # the first worker comes back late: its outcome is refused
    detail = two.get(f"/api/v1/notifications/{created['id']}").json()
    assert (detail["status"], detail["attempts"], len(detail["delivery_attempts"])) == ("sent", 1, 1)


def test_each_replica_has_the_configured_number_of_delivery_workers(make_client):
    assert len(make_client().app.state.delivery_workers.workers) == 8
    assert len(make_client(delivery_workers=2).app.state.delivery_workers.workers) == 2
