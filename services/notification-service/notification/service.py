"""Notification data access: keyword-only functions over the `notification` tables.

Callers own the transaction: these functions never commit.
"""

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from sqlalchemy import Insert, RowMapping, Update, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from notification.schemas import ChannelName, NotificationStatus, NotifyRequest
from notification.tables import attempts, notifications
from platform_common import arrays, outbox
from platform_common.errors import NotFound
from platform_common.pagination import Page, count_total

MAX_ERROR_CHARS = 2000


def get_or_raise(session: Session, *, notification_id: UUID) -> RowMapping:
    row = session.execute(select(notifications).where(notifications.c.id == notification_id)).mappings().first()
    if row is None:
        raise NotFound(f"Notification {notification_id} not found")
    return row


def get_by_idempotency_keys(session: Session, *, keys: Collection[str]) -> dict[str, RowMapping]:
    """The notifications holding these idempotency keys, by key (one statement; none for no keys)."""
    if not keys:
        return {}
    rows = session.execute(select(notifications).where(notifications.c.idempotency_key.in_(keys))).mappings().all()
    return {row["idempotency_key"]: row for row in rows}


@dataclass(frozen=True)
class NewNotification:
    """A notification to insert: its id is chosen here, so the inserted rows can be told apart."""

    id: UUID
    data: NotifyRequest
    destination: str
    idempotency_key: str | None


def create_many(session: Session, *, new: Sequence[NewNotification], now: datetime) -> dict[UUID, RowMapping]:
    """Insert pending notifications, each due now (or at its `not_before`), in one statement (the same
    SQL however many: one array per column). Returns the inserted rows by id: one whose idempotency key
    another request already holds is left out. Rows go in key order, so two batches sharing keys wait for
    each other instead of deadlocking."""
    if not new:
        return {}
    new = sorted(new, key=lambda item: item.idempotency_key or "")
    columns = {
        "id": [item.id for item in new],
        "incident_id": [item.data.incident_id for item in new],
        "channel": [item.data.channel for item in new],
        "recipient": [item.data.recipient for item in new],
        "message": [item.data.message for item in new],
        "status": [NotificationStatus.PENDING for _ in new],
        "idempotency_key": [item.idempotency_key for item in new],
        "created_at": [now for _ in new],
        "updated_at": [now for _ in new],
        "next_attempt_at": [max(now, item.data.not_before) if item.data.not_before else now for item in new],
        "not_before": [item.data.not_before for item in new],
        "fallbacks": [json.dumps([fallback.model_dump(mode="json") for fallback in item.data.fallbacks]) for item in new],
        "destination": [item.destination[:300] for item in new],
    }
    rows = session.execute(_inserting(), {f"incoming_{name}": values for name, values in columns.items()}).mappings()
    return {row["id"]: row for row in rows}


@cache
def _inserting() -> Insert:
    """INSERT … SELECT FROM unnest(one array per column) in order ON CONFLICT DO NOTHING (platform_common.arrays)."""
    names = ("id", "incident_id", "channel", "recipient", "message", "status", "idempotency_key", "created_at", "updated_at")
    names += ("next_attempt_at", "not_before", "fallbacks", "destination")
    statement = arrays.insert_from(notifications, names, name="incoming", json={"fallbacks"})
    return statement.on_conflict_do_nothing(index_elements=[notifications.c.idempotency_key]).returning(notifications)


def list_(
    session: Session, *, incident_id: UUID | None, status: NotificationStatus | None, channel: ChannelName | None, page: Page
) -> tuple[list[RowMapping], int]:
    filters = []
    if incident_id is not None:
        filters.append(notifications.c.incident_id == incident_id)
    if status is not None:
        filters.append(notifications.c.status == status)
    if channel is not None:
        filters.append(notifications.c.channel == channel)
    total = count_total(session, select(notifications).where(*filters), page)
    rows = (
        session.execute(
            select(notifications)
            .where(*filters)
            .order_by(notifications.c.created_at.desc(), notifications.c.id)
            .limit(page.limit)
            .offset(page.offset)
        )
        .mappings()
        .all()
    )
    return list(rows), total


def detail(session: Session, *, notification_id: UUID) -> dict[str, Any]:
    row = get_or_raise(session, notification_id=notification_id)
    history = (
        session.execute(select(attempts).where(attempts.c.notification_id == notification_id).order_by(attempts.c.attempt)).mappings().all()
    )
    return {**row, "delivery_attempts": history}


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt at a leased notification and the state it leaves the notification in."""

    notification: RowMapping
    error: str | None
    duration: float
    attempted_at: datetime
    status: NotificationStatus
    next_attempt_at: datetime | None
    failing_since: datetime | None


def record_attempts(session: Session, *, made: Sequence[Attempt]) -> set[UUID]:
    """Move each attempted notification to its new state and append the attempt to its history, for the
    notifications whose lease is still the caller's, in one statement however many attempts (atomic by
    itself). Returns the ids of those recorded: one whose lease was lost gets nothing written."""
    recorded, parameters = outbox.record_many_statement(notifications, [(attempt.notification, _state_after(attempt)) for attempt in made])
    history = {
        "notification_id": [attempt.notification["id"] for attempt in made],
        "attempt": [attempt.notification["attempts"] + 1 for attempt in made],
        "outcome": ["sent" if attempt.error is None else "failed" for attempt in made],
        "error": [_clipped(attempt.error) for attempt in made],
        "duration_seconds": [attempt.duration for attempt in made],
        "attempted_at": [attempt.attempted_at for attempt in made],
    }
    parameters |= {f"history_{name}": values for name, values in history.items()}
    return set(session.execute(_recording_attempts(recorded), parameters).scalars())


@cache
def _recording_attempts(recorded: Update) -> Insert:
    """WITH recorded AS (the lease-checked UPDATE) INSERT INTO notification_attempts SELECT … FROM
    unnest(history arrays) JOIN recorded: the history rows of exactly the notifications updated."""
    names = ("notification_id", "attempt", "outcome", "error", "duration_seconds", "attempted_at")
    history = arrays.unnest("history", {name: attempts.c[name].type for name in names})
    updated = recorded.cte("recorded")
    rows = select(*(history.c[name] for name in names)).join_from(history, updated, updated.c.id == history.c.notification_id)
    return insert(attempts).from_select(names, rows).add_cte(updated).returning(attempts.c.notification_id)


def _state_after(attempt: Attempt) -> dict[str, Any]:
    return {
        "attempts": attempt.notification["attempts"] + 1,
        "status": attempt.status,
        "last_error": _clipped(attempt.error),
        "next_attempt_at": attempt.next_attempt_at,
        "failing_since": attempt.failing_since,
        "updated_at": attempt.attempted_at,
        "sent_at": attempt.attempted_at if attempt.status == NotificationStatus.SENT else None,  # a pending row was never sent
    }


def _clipped(error: str | None) -> str | None:
    return error[:MAX_ERROR_CHARS] if error else None


def record_cancelled(session: Session, *, notification: RowMapping, now: datetime) -> bool:
    """The page is no longer needed (its incident was acknowledged): no attempt is made. False when the lease was lost."""
    values = {"status": NotificationStatus.CANCELLED, "next_attempt_at": None, "updated_at": now}
    return outbox.record(session, notifications, notification, **values)


def create_fallback(session: Session, *, parent: RowMapping, destination_of: Callable[[str, str], str], now: datetime) -> None:
    """Queue the parent's first fallback (carrying the rest of its fallbacks) as a notification of its
    own, due now. Idempotent: its key is derived from the parent, so a second call adds nothing.
    `destination_of(channel, recipient)` names its lane."""
    if not parent["fallbacks"]:
        return
    first, *rest = parent["fallbacks"]
    statement = pg_insert(notifications).values(
        incident_id=parent["incident_id"],
        channel=first["channel"],
        recipient=first["recipient"],
        message=parent["message"],
        status=NotificationStatus.PENDING,
        idempotency_key=f"fallback:{parent['id']}",
        created_at=now,
        updated_at=now,
        next_attempt_at=now,
        fallbacks=rest,
        fallback_of=parent["id"],
        destination=destination_of(first["channel"], first["recipient"])[:300],
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=[notifications.c.idempotency_key]))


def failing_by_channel(session: Session) -> dict[str, int]:
    """Pending notifications past their first retry budget, per channel."""
    rows = session.execute(
        select(notifications.c.channel, func.count())
        .where(notifications.c.status == NotificationStatus.PENDING, notifications.c.failing_since.is_not(None))
        .group_by(notifications.c.channel)
    ).all()
    return {channel: count for channel, count in rows}
