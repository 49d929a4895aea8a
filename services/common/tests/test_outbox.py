"""The lease-based outbox on a real PostgreSQL, over a scratch table with the agreed columns: a taken
row is skipped by other workers until its lease runs out, then taken again exactly once; an outcome is
written only while the lease is the writer's; nothing is locked or open while a handler runs."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, String, Table, bindparam, select, text

from platform_common import outbox
from platform_common.db import create_session_factory

LEASE = 30.0
START = datetime(2024, 1, 1, tzinfo=UTC)

jobs = Table(
    "outbox_jobs",
    MetaData(schema="public"),
    Column("id", Integer, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(32)),
)


@pytest.fixture
def table(db_engine: Engine) -> Iterator[Engine]:
    """The test database with an `outbox_jobs` table for the test."""
    jobs.create(db_engine)
    yield db_engine
    jobs.drop(db_engine)


def add(db: Engine, *, due_in: float, status: str = "pending") -> int:
    with db.begin() as connection:
        return connection.execute(
            jobs.insert().values(status=status, next_attempt_at=START + timedelta(seconds=due_in)).returning(jobs.c.id)
        ).scalar_one()


def state(db: Engine) -> dict[int, tuple[str, str | None]]:
    with db.connect() as connection:
        return {row.id: (row.status, row.outcome) for row in connection.execute(select(jobs))}


def take(db: Engine, *, at: float, **options: Any):
    return outbox.take(create_session_factory(db), jobs, now=START + timedelta(seconds=at), lease_seconds=LEASE, **options)


def finish(db: Engine, leased, outcome: str) -> bool:
    with create_session_factory(db)() as session:
        recorded = outbox.record(session, jobs, leased, status="done", outcome=outcome)
        session.commit()
    return recorded


def test_the_row_due_longest_is_leased_and_the_lease_committed(table):
    later, earlier = add(table, due_in=-1), add(table, due_in=-5)
    add(table, due_in=10)  # not due yet
    add(table, due_in=-9, status="done")

    leased = take(table, at=0)

    assert leased["id"] == earlier and leased["next_attempt_at"] == START + timedelta(seconds=LEASE)
    with table.connect() as connection:  # committed and unlocked: another session can lock it at once
        locked = connection.execute(text("SELECT id FROM public.outbox_jobs WHERE id = :id FOR UPDATE NOWAIT"), {"id": earlier})
        assert locked.scalar_one() == earlier
        connection.rollback()
    assert take(table, at=0)["id"] == later
    assert take(table, at=0) is None, "leased rows, rows not due and finished rows are not taken"


def test_where_narrows_the_take_to_one_row(table):
    first, second = add(table, due_in=-5), add(table, due_in=-1)
    assert take(table, at=0, where=jobs.c.id == second)["id"] == second
    assert take(table, at=0, where=jobs.c.id == second) is None
    assert take(table, at=0)["id"] == first


SKIPPED = jobs.c.id.not_in(bindparam("skipped", expanding=True))  # built once, as a caller with a fixed condition does


def test_a_batch_is_leased_oldest_first_and_a_where_built_once_takes_its_parameters(table):
    oldest, older, old, newest = (add(table, due_in=-n) for n in (4, 3, 2, 1))
    session_factory = create_session_factory(table)

    def take_two(skipped: list[int]) -> set[int]:
        leased = outbox.take_many(
            session_factory, jobs, now=START, lease_seconds=LEASE, limit=2, where=SKIPPED, parameters={"skipped": skipped}
        )
        assert all(row["next_attempt_at"] == START + timedelta(seconds=LEASE) for row in leased)
        return {row["id"] for row in leased}

    assert take_two([oldest]) == {older, old}
    assert take_two([]) == {oldest, newest}
    assert take_two([]) == set()


def test_an_expired_lease_passes_to_another_worker_once_and_the_late_outcome_is_refused(table):
    job = add(table, due_in=0)
    stalled = take(table, at=0)
    assert take(table, at=LEASE - 1) is None, "still leased"
    took_over = take(table, at=LEASE)
    assert took_over["id"] == job
    assert take(table, at=LEASE) is None, "the second lease is not handed out again"

    assert finish(table, took_over, "by the second worker")
    assert not finish(table, stalled, "by the stalled worker")
    assert state(table) == {job: ("done", "by the second worker")}


def test_an_outcome_is_recorded_once_late_or_not_while_nobody_took_the_row_over(table):
    job = add(table, due_in=0)
    leased = take(table, at=0)
    assert finish(table, leased, "late but unchallenged")
    assert state(table) == {job: ("done", "late but unchallenged")}
    assert not finish(table, leased, "twice"), "an outcome is recorded once"


def test_drain_handles_due_rows_with_no_transaction_or_lock_held(table):
    ids = [add(table, due_in=-n) for n in range(3)]
    add(table, due_in=60)
    session_factory = create_session_factory(table)
    seen: list[tuple[int, int, int]] = []

    def handle(leased) -> None:
        with table.connect() as connection:
            idle = connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'")
            ).scalar_one()
            free = connection.execute(text("SELECT count(*) FROM (SELECT id FROM public.outbox_jobs FOR UPDATE SKIP LOCKED) AS f"))
            seen.append((leased["id"], idle, free.scalar_one()))
            connection.rollback()
        with session_factory() as session:
            assert outbox.record(session, jobs, leased, status="done")
            session.commit()

    assert outbox.drain(session_factory, jobs, handle, clock=lambda: START, lease_seconds=LEASE, limit=2) == 2
    assert outbox.drain(session_factory, jobs, handle, clock=lambda: START, lease_seconds=LEASE, limit=50) == 1
    assert seen == [(job, 0, 4) for job in reversed(ids)], "oldest due first, nothing locked or open during the handler"
    assert [status for status, _ in state(table).values()].count("pending") == 1


def test_several_outcomes_are_recorded_in_one_statement_each_only_while_its_lease_holds(table):
    kept, lost, other = add(table, due_in=-3), add(table, due_in=-2), add(table, due_in=-1)
    session_factory = create_session_factory(table)
    leased = outbox.take_many(session_factory, jobs, now=START, lease_seconds=LEASE, limit=2)
    assert {row["id"] for row in leased} == {kept, lost}
    # The lease on `lost` runs out and another worker takes it over.
    later = START + timedelta(seconds=LEASE)
    taken_over = outbox.take_many(session_factory, jobs, now=later, lease_seconds=LEASE, limit=1, where=jobs.c.id == lost)
    assert [row["id"] for row in taken_over] == [lost]
    mine = {row["id"]: row for row in leased}

    statement, parameters = outbox.record_many_statement(
        jobs, [(mine[kept], {"status": "done", "outcome": "first"}), (mine[lost], {"status": "done", "outcome": "second"})]
    )
    with session_factory() as session:
        assert set(session.execute(statement, parameters).scalars()) == {kept}
        session.commit()
    assert state(table) == {kept: ("done", "first"), lost: ("pending", None), other: ("pending", None)}
