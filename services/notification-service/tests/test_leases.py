"""Workers lease rows instead of holding locks (SPEC §13): no lock and no open transaction while a
notification is sent, an expired lease (a killed worker) is taken again so nothing is lost, and a
worker that lost its lease cannot overwrite what another recorded. Real PostgreSQL, real HTTP."""

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.support.servers import serve_in_thread


class LockProbe:
    """A webhook receiver that, while the sender waits for its answer, asks PostgreSQL whether the
    notification's row is locked and whether any session sits idle inside a transaction."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.findings: list[dict] = []

    async def hook(self, request: Request):
        notification_id = (await request.json())["notification_id"]
        with self.engine.connect() as connection:
            try:
                connection.execute(
                    text("SELECT id FROM notification.notifications WHERE id = :id FOR UPDATE NOWAIT"), {"id": notification_id}
                )
                locked = False
            except Exception:  # noqa: BLE001 - LockNotAvailable: the sender holds the row
                locked = True
            connection.rollback()
            idle = connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction'")
            ).scalar_one()
        self.findings.append({"row_locked": locked, "idle_in_transaction": idle})
        return PlainTextResponse("ok")


@pytest.fixture
def probe(clean_db) -> Iterator[tuple[LockProbe, str]]:
    receiver = LockProbe(clean_db)
    with serve_in_thread(Starlette(routes=[Route("/hook", receiver.hook, methods=["POST"])])) as url:
        yield receiver, f"{url}/hook"


def test_no_row_lock_or_open_transaction_is_held_while_sending(client, probe, notify, deliver):
    receiver, url = probe
    created = notify(client, channel="webhook", recipient=url)
    assert deliver(client) == 1
    assert receiver.findings == [{"row_locked": False, "idle_in_transaction": 0}]
    assert client.get(f"/api/v1/notifications/{created['id']}").json()["status"] == "sent"


def test_a_leased_notification_is_skipped_by_other_workers_until_the_lease_runs_out(make_client, clock, notify, deliver):
    one, two = make_client(delivery_lease_seconds=60), make_client(delivery_lease_seconds=60)
    created = notify(one)
    leased = one.app.state.dispatcher.claim()  # ... and then this worker is killed: it never records anything
    assert str(leased["id"]) == created["id"] and leased["lease_token"] is not None
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
    assert len(make_client().app.state.delivery_workers) == 4
    assert len(make_client(delivery_workers=2).app.state.delivery_workers) == 2
