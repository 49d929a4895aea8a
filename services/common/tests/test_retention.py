"""Retention on a real PostgreSQL, over scratch parent/child tables: old rows go (children first, so a
plain foreign key without cascade is satisfied), recent and kept rows stay, a backlog larger than one
batch drains batch by batch and cycle after cycle, 0 days keeps everything, and a row another
transaction has locked is skipped rather than waited for."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Column, DateTime, Engine, ForeignKey, Integer, MetaData, String, Table, func, insert, select, text

from platform_common.retention import RetentionTarget, RetentionWorker, delete_batch

NOW = datetime(2025, 6, 1, tzinfo=UTC)
metadata = MetaData(schema="public")
parents = Table(
    "retention_parents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("made_at", DateTime(timezone=True), nullable=False),
    Column("touched_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
)
children = Table(
    "retention_children",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("parent_id", Integer, ForeignKey(parents.c.id), nullable=False),  # no cascade: children must go first
)
TARGET = RetentionTarget(
    ages=[parents.c.made_at, parents.c.touched_at], keep=parents.c.status == "pending", children=[children.c.parent_id]
)


@pytest.fixture
def db(db_engine: Engine) -> Iterator[Engine]:
    metadata.create_all(db_engine)
    yield db_engine
    metadata.drop_all(db_engine)


def add(db: Engine, *, days_old: float, count: int = 1, status: str = "done", touched_days_old: float | None = None) -> list[int]:
    made = NOW - timedelta(days=days_old)
    touched = NOW - timedelta(days=days_old if touched_days_old is None else touched_days_old)
    with db.begin() as connection:
        start = connection.execute(select(func.coalesce(func.max(parents.c.id), 0))).scalar_one() + 1
        rows = [{"id": start + n, "made_at": made, "touched_at": touched, "status": status} for n in range(count)]
        connection.execute(insert(parents), rows)
        connection.execute(insert(children), [{"id": row["id"], "parent_id": row["id"]} for row in rows])
    return [row["id"] for row in rows]


def remaining(db: Engine) -> set[int]:
    with db.connect() as connection:
        return set(connection.execute(select(parents.c.id)).scalars())


def worker(db: Engine, days: int = 30, **options) -> RetentionWorker:
    return RetentionWorker(db, [TARGET], max_age_days=days, interval_seconds=3600, clock=lambda: NOW, **options)


def removed_metric(table: str) -> float:
    return REGISTRY.get_sample_value("retention_deleted_rows_total", {"table": table}) or 0.0


def test_old_rows_and_their_children_go_recent_and_kept_rows_stay(db):
    old = add(db, days_old=31, count=3)
    recent = add(db, days_old=29)
    pending = add(db, days_old=400, status="pending")
    touched_lately = add(db, days_old=400, touched_days_old=1)  # every age column must be past the cutoff
    before = removed_metric("retention_parents"), removed_metric("retention_children")

    removed = worker(db).run_cycle()

    assert removed == {"retention_parents": 3, "retention_children": 3}
    assert remaining(db) == set(recent + pending + touched_lately)
    assert old[0] not in remaining(db)
    with db.connect() as connection:
        assert connection.execute(select(func.count()).select_from(children)).scalar_one() == 3
    assert removed_metric("retention_parents") - before[0] == 3
    assert removed_metric("retention_children") - before[1] == 3


def test_the_cutoff_follows_the_injected_clock(db):
    add(db, days_old=10)
    assert worker(db).run_cycle()["retention_parents"] == 0
    later = RetentionWorker(db, [TARGET], max_age_days=30, interval_seconds=3600, clock=lambda: NOW + timedelta(days=21))
    assert later.run_cycle()["retention_parents"] == 1
    assert remaining(db) == set()


def test_zero_days_keeps_everything(db):
    add(db, days_old=10_000, count=5)
    assert worker(db, days=0).run_cycle() == {}
    assert len(remaining(db)) == 5


def test_a_backlog_larger_than_a_batch_goes_in_several_batches(db):
    add(db, days_old=100, count=25)
    recent = add(db, days_old=1)
    assert worker(db, batch_size=4).run_cycle() == {"retention_parents": 25, "retention_children": 25}
    assert remaining(db) == set(recent)


def test_a_draining_backlog_rests_after_each_full_batch_and_a_stop_ends_the_cycle(db):
    add(db, days_old=100, count=10)
    pauses: list[float] = []
    paced = worker(db, batch_size=3, pause=lambda seconds: pauses.append(seconds) is not None)
    assert paced.run_cycle()["retention_parents"] == 10
    assert len(pauses) == 3 and all(seconds > 0 for seconds in pauses), "a rest after each of the three full batches, none after the last"

    add(db, days_old=100, count=10)
    stopping = worker(db, batch_size=3, pause=lambda seconds: True)  # the worker is told to stop during the first rest
    assert stopping.run_cycle()["retention_parents"] == 3
    assert len(remaining(db)) == 7


def test_a_cycle_is_bounded_and_the_rest_drains_in_cycles_that_follow_at_once(db):
    add(db, days_old=100, count=7)
    capped = worker(db, batch_size=2, batches_per_cycle=2)
    assert capped.run_cycle()["retention_parents"] == 4, "one cycle removes at most batch_size x batches_per_cycle rows"
    assert len(remaining(db)) == 3

    capped.start()  # an hour's interval: only the cycles a backlog asks for run
    try:
        capped.wake()
        deadline = time.monotonic() + 30
        while remaining(db) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        capped.stop()
    assert remaining(db) == set(), "the backlog drained without waiting for the interval"


def test_a_row_locked_by_another_transaction_is_skipped_not_waited_for(db):
    locked, free = add(db, days_old=100), add(db, days_old=100)
    with db.connect() as holder:
        holder.execute(text("SELECT id FROM public.retention_parents WHERE id = :id FOR UPDATE"), {"id": locked[0]})
        with db.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '5s'"))  # waiting would fail the test, not hang it
            removed = delete_batch(connection, TARGET, NOW - timedelta(days=30), 10)
        holder.rollback()
    assert removed == {"retention_parents": 1, "retention_children": 1}
    assert remaining(db) == set(locked)
    assert free[0] not in remaining(db)
