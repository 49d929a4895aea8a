"""Delivering an outbox table's rows with leases, safely on any number of replicas and workers.

No transaction or lock is held while a row's outbound work runs (SPEC §13: no transaction spans an
outbound call). An outbox table has these columns:

- `id`: its primary key;
- `status`: `'pending'` while there is work to do, anything else once it is done;
- `next_attempt_at`: when the row is due; while a worker holds a lease on it, when the lease runs out.

1. `take` (one short transaction, committed): the pending row that has been due longest is locked with
   `FOR UPDATE SKIP LOCKED` and leased by moving its `next_attempt_at` `lease_seconds` ahead, so no other
   worker takes it meanwhile. The leased row comes back; its `next_attempt_at` is the lease's token.
2. The caller does its outbound work with no transaction open.
3. `record` (in the caller's next short transaction): the outcome is written only if the row is still
   pending with the same token, i.e. the lease is still the caller's. A lease that ran out (the worker
   stalled or died) made the row due again: another worker took it, and the late outcome is refused.
   `record_many_statement` does the same for several leased rows in one statement (a batch of outcomes).

The token cannot repeat: a new lease is taken at or after the old one's end, so it ends strictly later.
Work is at least once, so outbound calls carry idempotency keys; a refused outcome is not counted.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, Table, Update, bindparam, literal, select, update
from sqlalchemy.orm import Session, sessionmaker

from platform_common import arrays
from platform_common.db import autocommit

PENDING = "pending"
Handler = Callable[[RowMapping], None]
"""Does one leased row's outbound work with no transaction open, then `record`s its outcome."""


def take(
    session_factory: sessionmaker[Session], table: Table, *, now: datetime, lease_seconds: float, where: ColumnElement[bool] | None = None
) -> RowMapping | None:
    """Lease the pending row due longest (matching `where`, if given) and commit; None when none is free."""
    leased = take_many(session_factory, table, now=now, lease_seconds=lease_seconds, limit=1, where=where)
    return leased[0] if leased else None


def take_many(
    session_factory: sessionmaker[Session],
    table: Table,
    *,
    now: datetime,
    lease_seconds: float,
    limit: int,
    where: ColumnElement[bool] | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> list[RowMapping]:
    """Lease up to `limit` pending rows, those due longest (matching `where`, if given), in one statement,
    and commit; each row's lease is its own, as if taken one by one. `where` may hold bind parameters,
    given in `parameters`: a `where` built once (a module constant) makes the statement built once too."""
    values = {"take_now": now, "take_lease_end": now + timedelta(seconds=lease_seconds), "take_limit": limit, **(parameters or {})}
    with session_factory() as session:
        autocommit(session)  # one statement: atomic by itself
        leased = session.execute(_take_statement(table, where), values).mappings().all()
        session.commit()
    return list(leased)


@lru_cache(maxsize=64)
def _take_statement(table: Table, where: ColumnElement[bool] | None) -> Update:
    """UPDATE … SET next_attempt_at = lease end WHERE id IN (the due rows, oldest first, FOR UPDATE SKIP
    LOCKED) RETURNING the rows; the time, lease end and limit are bind parameters."""
    due = select(table.c.id).where(table.c.status == PENDING, table.c.next_attempt_at <= bindparam("take_now"))
    if where is not None:
        due = due.where(where)
    due = due.order_by(table.c.next_attempt_at).limit(bindparam("take_limit")).with_for_update(skip_locked=True)
    leased = table.c.id.in_(due.scalar_subquery())
    return update(table).where(leased).values(next_attempt_at=bindparam("take_lease_end")).returning(table)


def record(session: Session, table: Table, leased: RowMapping, **values: Any) -> bool:
    """Apply `values` to the leased row if the lease is still the caller's; False (nothing written) if it
    was lost. The caller commits."""
    statement = (
        update(table)
        .where(table.c.id == leased["id"], table.c.status == PENDING, table.c.next_attempt_at == leased["next_attempt_at"])
        .values(**values)
        .returning(table.c.id)
    )
    return session.execute(statement).first() is not None


def record_many_statement(table: Table, outcomes: Sequence[tuple[RowMapping, Mapping[str, Any]]]) -> tuple[Update, dict[str, list[Any]]]:
    """`record` for several leased rows at once (at least one): an UPDATE giving each row its own values (every outcome
    sets the same columns) if its lease is still the caller's, RETURNING the ids written; and its
    parameters. Execute it, or embed it (a CTE) in a statement that writes more. The SQL takes one array
    per column, so it is the same however many rows are recorded (compiled and prepared once)."""
    names = tuple(outcomes[0][1])
    arrays = {"id": [leased["id"] for leased, _ in outcomes], "lease_token": [leased["next_attempt_at"] for leased, _ in outcomes]}
    arrays |= {name: [values[name] for _, values in outcomes] for name in names}
    return _record_many(table, names), {f"outcome_{name}": column for name, column in arrays.items()}


@cache
def _record_many(table: Table, names: tuple[str, ...]) -> Update:
    types = {"id": table.c.id.type, "lease_token": table.c.next_attempt_at.type} | {name: table.c[name].type for name in names}
    given = arrays.unnest("outcome", types)
    pending = select(literal(PENDING)).scalar_subquery()
    lease_held = (table.c.id == given.c.id, table.c.status == pending, table.c.next_attempt_at == given.c.lease_token)
    return update(table).where(*lease_held).values({name: given.c[name] for name in names}).returning(table.c.id)


def drain(
    session_factory: sessionmaker[Session],
    table: Table,
    handle: Handler,
    *,
    clock: Callable[[], datetime],
    lease_seconds: float,
    limit: int,
) -> int:
    """Take and handle due rows one at a time, at most `limit` per cycle; returns how many were handled.
    No transaction is open while `handle` runs."""
    handled = 0
    while handled < limit:
        leased = take(session_factory, table, now=clock(), lease_seconds=lease_seconds)
        if leased is None:
            break
        handle(leased)
        handled += 1
    return handled
