"""Notification data access: keyword-only functions over the `notification` tables.

Callers own the transaction: these functions never commit.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from notification.schemas import ChannelName, NotificationStatus, NotifyRequest
from notification.tables import attempts, notifications
from platform_common.errors import NotFound
from platform_common.pagination import Page

MAX_ERROR_CHARS = 2000


def get_or_raise(session: Session, *, notification_id: UUID) -> RowMapping:
    row = session.execute(select(notifications).where(notifications.c.id == notification_id)).mappings().first()
    if row is None:
        raise NotFound(f"Notification {notification_id} not found")
    return row


def get_by_idempotency_key(session: Session, *, key: str) -> RowMapping | None:
    return session.execute(select(notifications).where(notifications.c.idempotency_key == key)).mappings().first()


def create(session: Session, *, data: NotifyRequest, idempotency_key: str | None, now: datetime) -> RowMapping | None:
    """Insert a pending notification, due now. None when another request already holds the idempotency key."""
    statement = pg_insert(notifications).values(
        incident_id=data.incident_id,
        channel=data.channel,
        recipient=data.recipient,
        message=data.message,
        status=NotificationStatus.PENDING,
        idempotency_key=idempotency_key,
        created_at=now,
        updated_at=now,
        next_attempt_at=now,
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
    total = session.execute(select(func.count()).select_from(notifications).where(*filters)).scalar_one()
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
    succeeded: bool,
    error: str | None,
    duration: float,
    attempted_at: datetime,
    status: NotificationStatus,
    next_attempt_at: datetime | None,
) -> None:
    """Append the attempt to the notification's history and move the notification to its new state."""
    number = notification["attempts"] + 1
    error = error[:MAX_ERROR_CHARS] if error else None
    session.execute(
        insert(attempts).values(
            notification_id=notification["id"],
            attempt=number,
            outcome="sent" if succeeded else "failed",
            error=error,
            duration_seconds=duration,
            attempted_at=attempted_at,
        )
    )
    values: dict[str, Any] = {
        "attempts": number,
        "status": status,
        "last_error": error,
        "next_attempt_at": next_attempt_at,
        "updated_at": attempted_at,
    }
    if status == NotificationStatus.SENT:
        values["sent_at"] = attempted_at
    session.execute(update(notifications).where(notifications.c.id == notification["id"]).values(**values))
