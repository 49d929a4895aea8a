"""Delivery in batches (SPEC §13 unchanged): one statement leases a batch of due notifications for a
replica's workers, attempts ending together are recorded in one statement, and none of it weakens the
lease: a notification is sent by one worker at a time, one left waiting too long in a batch is not sent
late by its replica but claimed again, and an outcome whose lease was lost writes nothing. Real
PostgreSQL, real HTTP, a clock moved by hand."""

import threading
from collections import Counter
from datetime import timedelta
from uuid import UUID

from sqlalchemy import select

from notification import service
from notification.schemas import NotificationStatus
from notification.tables import attempts, notifications
from platform_common import outbox
from platform_common.db import create_session_factory
from tests.support.statements import statements


def test_a_batch_is_leased_in_one_statement_and_each_attempt_recorded_in_one(make_client, notify, deliver):
    client = make_client(delivery_workers=8)
    ids = [notify(client, message=f"page {n}")["id"] for n in range(20)]
    with statements(client.app.state.engine) as sent:
        assert deliver(client) == 20
    claims = [sql for sql in sent if "SKIP LOCKED" in sql]
    records = [sql for sql in sent if "INSERT INTO notification.notification_attempts" in sql]
    assert len(claims) == 4, "8 + 8 + 4 leased, then one claim finds nothing"
    assert len(records) == 20 and len(sent) == 24, "one statement per recorded attempt (a worker alone records alone), nothing else"
    with client.app.state.engine.connect() as connection:
        history = Counter(connection.execute(select(attempts.c.notification_id)).scalars())
        states = set(connection.execute(select(notifications.c.status, notifications.c.attempts)).all())
    assert history == {UUID(id_): 1 for id_ in ids} and states == {("sent", 1)}


def test_workers_and_replicas_sharing_batches_send_each_notification_once(make_client, receiver, notify):
    replicas = [make_client(delivery_workers=4) for _ in range(3)]
    ids = {notify(replicas[0], channel="webhook", recipient=receiver.url, message=f"page {n}")["id"] for n in range(60)}
    barrier = threading.Barrier(6)
    handled: list[int] = []

    def work(replica) -> None:
        barrier.wait()
        handled.append(replica.app.state.dispatcher.deliver_due())

    threads = [threading.Thread(target=work, args=(replica,)) for replica in replicas for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    sent = Counter(request["json"]["notification_id"] for request in receiver.requests)
    assert sent == dict.fromkeys(ids, 1) and sum(handled) == 60
    with replicas[0].app.state.engine.connect() as connection:
        assert Counter(connection.execute(select(attempts.c.notification_id)).scalars()) == {UUID(id_): 1 for id_ in ids}


def test_a_notification_left_too_long_in_a_batch_is_not_sent_late_but_claimed_again(make_client, clock, receiver, notify, deliver):
    # Lease 30 s, attempts of at most 2 s: a leased notification must be started within (30 - 2) / 2 = 14 s.
    one, two = make_client(delivery_lease_seconds=30), make_client(delivery_lease_seconds=30)
    ids = [notify(one, channel="webhook", recipient=receiver.url, message=f"page {n}")["id"] for n in range(3)]
    first = one.app.state.dispatcher.claim()  # leases all three; this worker then stalls with the first
    assert str(first["id"]) in ids
    clock.advance(15)
    assert deliver(one) == 0, "the other two are too late to start under their lease"
    assert deliver(two) == 0, "and they are still leased: nobody else sends them yet"
    clock.advance(15)
    assert deliver(two) == 3, "the leases ran out: all three are claimed again"
    assert sorted(request["json"]["notification_id"] for request in receiver.requests) == sorted(ids)
    one.app.state.dispatcher.deliver(first)  # the stalled worker comes back: its outcome is refused
    assert len(receiver.requests) == 4, "at least once: the stalled worker's send went out (same Idempotency-Key)"
    detail = two.get(f"/api/v1/notifications/{first['id']}").json()
    assert (detail["status"], detail["attempts"], len(detail["delivery_attempts"])) == ("sent", 1, 1)


def test_attempts_recorded_together_write_only_those_whose_lease_holds(client, notify, clock, clean_db):
    kept, lost = (UUID(notify(client, message=name)["id"]) for name in ("kept", "lost"))
    session_factory = create_session_factory(clean_db)
    mine = {row["id"]: row for row in outbox.take_many(session_factory, notifications, now=clock(), lease_seconds=30, limit=2)}
    later = clock() + timedelta(seconds=30)  # the lease on `lost` runs out and another worker takes it
    outbox.take_many(session_factory, notifications, now=later, lease_seconds=30, limit=1, where=notifications.c.id == lost)
    made = [
        service.Attempt(mine[id_], error, 0.01, clock(), status, retry_at, None)
        for id_, error, status, retry_at in (
            (kept, None, NotificationStatus.SENT, None),
            (lost, "HTTP 503", NotificationStatus.PENDING, clock() + timedelta(seconds=10)),
        )
    ]
    with session_factory() as session:
        assert service.record_attempts(session, made=made) == {kept}
        session.commit()
    with clean_db.connect() as connection:
        rows = {row.id: row for row in connection.execute(select(notifications))}
        history = connection.execute(select(attempts.c.notification_id, attempts.c.attempt, attempts.c.outcome)).all()
    assert (rows[kept].status, rows[kept].attempts, rows[kept].sent_at) == ("sent", 1, clock())
    assert (rows[lost].status, rows[lost].attempts, rows[lost].last_error) == ("pending", 0, None)
    assert rows[lost].next_attempt_at == later + timedelta(seconds=30), "the other worker's lease stands"
    assert history == [(kept, 1, "sent")]


def test_a_claim_that_came_back_short_answers_for_the_workers_waiting_behind_it(client, notify):
    """Every worker woken by a burst ends its cycle asking for more; once a claim that started while they
    waited found fewer than it asked for, their asking again would find nothing, so they don't."""
    dispatcher, engine = client.app.state.dispatcher, client.app.state.engine
    notify(client, message="one")
    waited_from = dispatcher._claims  # what the waiting workers saw before the lanes' lock
    with statements(engine) as sent:
        assert dispatcher._take([], after=waited_from) is not None  # leases the one there is: fewer than a batch
        assert dispatcher._take([], after=waited_from) is None
        assert dispatcher._take(["webhook http://elsewhere"], after=waited_from) is None, "fewer lanes open: nothing more either"
        skipped = len(sent)
        notify(client, message="two")  # committed before the next worker waits: it asks
        assert dispatcher._take([], after=dispatcher._claims)["message"] == "two"
    assert skipped == 1 and sum("SKIP LOCKED" in sql for sql in sent) == 2

    short_for_fewer_lanes = dispatcher._claims
    assert dispatcher._take(["mock"], after=short_for_fewer_lanes) is None  # came back short with the mock lane shut out ...
    notify(client, message="three")
    assert dispatcher._take([], after=short_for_fewer_lanes)["message"] == "three", "... which does not answer for it"
