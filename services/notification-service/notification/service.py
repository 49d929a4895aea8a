"""Notification data access: keyword-only functions over the `notification` tables.

Callers own the transaction: these functions never commit.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from notification.schemas import ChannelName, NotificationStatus, NotifyRequest
from notification.tables import attempts, notifications
from platform_common import outbox
from platform_common.errors import NotFound
from platform_common.pagination import Page, count_total

MAX_ERROR_CHARS = 2000


def get_or_raise(session: Session, *, notification_id: UUID) -> RowMapping:
    row = session.execute(select(notifications).where(notifications.c.id == notification_id)).mappings().first()
    if row is None:
        raise NotFound(f"Notification {notification_id} not found")
    return row


def get_by_idempotency_key(session: Session, *, key: str) -> RowMapping | None:
    return session.execute(select(notifications).where(notifications.c.idempotency_key == key)).mappings().first()


def create(session: Session, *, data: NotifyRequest, destination: str, idempotency_key: str | None, now: datetime) -> RowMapping | None:
    """Insert a pending notification, due now (or at `not_before`). None when another request already
    holds the idempotency key."""
    statement = pg_insert(notifications).values(
        incident_id=data.incident_id,
        channel=data.channel,
        recipient=data.recipient,
        message=data.message,
        status=NotificationStatus.PENDING,
        idempotency_key=idempotency_key,
        created_at=now,
        updated_at=now,
        next_attempt_at=max(now, data.not_before) if data.not_before else now,
        not_before=data.not_before,
        fallbacks=[fallback.model_dump(mode="json") for fallback in data.fallbacks],
        destination=destination[:300],
    )
    if idempotency_key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=[notifications.c.idempotency_key])
    return session.execute(statement.returning(notifications)).mappings().first()


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


def record_attempt(
    session: Session,
    *,
    notification: RowMapping,
    error: str | None,
    duration: float,
    attempted_at: datetime,
    status: NotificationStatus,
    next_attempt_at: datetime | None,
    failing_since: datetime | None,
) -> bool:
    """Append the attempt to the notification's history and move the notification to its new state.
    False when the caller's lease was lost (nothing is written)."""
    number = notification["attempts"] + 1
    error = error[:MAX_ERROR_CHARS] if error else None
    values: dict[str, Any] = {
        "attempts": number,
        "status": status,
        "last_error": error,
        "next_attempt_at": next_attempt_at,
        "failing_since": failing_since,
        "updated_at": attempted_at,
    }
    if status == NotificationStatus.SENT:
        values["sent_at"] = attempted_at
    if not outbox.record(session, notifications, notification, **values):
        return False
    session.execute(
        insert(attempts).values(
            notification_id=notification["id"],
            attempt=number,
            outcome="sent" if error is None else "failed",
            error=error,
            duration_seconds=duration,
            attempted_at=attempted_at,
        )
    )
    return True


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
