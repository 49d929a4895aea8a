"""Draining an outbox table in background cycles, safely on any number of replicas.

An outbox row has a `status` ('pending' until handled) and a `next_attempt_at`. Each cycle claims the
row that has been due longest with `FOR UPDATE SKIP LOCKED`, handles it in its own transaction while
holding the lock (so two replicas never handle the same row at once), commits, and moves on.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import RowMapping, Table, select
from sqlalchemy.orm import Session, sessionmaker

from platform_common.clock import utcnow

AfterCommit = Callable[[], None] | None
Handler = Callable[[Session, RowMapping, datetime], AfterCommit]
"""Handles one claimed row inside its transaction; may return what to do once it is committed."""


def claim_due(session: Session, table: Table, *, now: datetime) -> RowMapping | None:
    """Lock the pending row that has been due longest; rows another replica holds are skipped."""
    return (
        session.execute(
            select(table)
            .where(table.c.status == "pending", table.c.next_attempt_at <= now)
            .order_by(table.c.next_attempt_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        .mappings()
        .first()
    )


def drain(
    session_factory: sessionmaker[Session], table: Table, handle: Handler, *, clock: Callable[[], datetime] = utcnow, limit: int = 50
) -> int:
    """Handle due rows one transaction each, at most `limit` per cycle; returns how many were handled."""
    handled = 0
    while handled < limit:
        with session_factory() as session:
            now = clock()
            row = claim_due(session, table, now=now)
            if row is None:
                return handled
            after_commit = handle(session, row, now)
            session.commit()
        if after_commit is not None:
            after_commit()
        handled += 1
    return handled
