"""Accepting notifications and delivering them: a durable outbox in PostgreSQL.

`accept` commits the notification as `pending` (due now) before anything is sent, so a crash or a
restart loses nothing. The delivery worker (`Dispatcher.deliver_due`, run in cycles by every replica)
locks one due row at a time with `FOR UPDATE SKIP LOCKED` and keeps the lock while it sends, so two
replicas never send the same attempt. Each attempt is recorded; a failed one is retried with
exponential backoff until `max_attempts`, then the notification is `failed`.

Delivery is at-least-once: if the database is lost between a successful send and the commit, that
attempt is made again.
"""

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import RowMapping
from sqlalchemy.orm import Session, sessionmaker

from notification import service
from notification.channels import Channel, DeliveryError, Notification
from notification.config import Settings
from notification.metrics import count_attempt
from notification.schemas import NotificationStatus, NotifyRequest
from notification.tables import notifications
from platform_common import outbox
from platform_common.clock import utcnow
from platform_common.errors import Conflict, InvalidInput

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
MAX_DELIVERIES_PER_CYCLE = 50


def backoff_seconds(failed_attempts: int, *, base: float, maximum: float) -> float:
    """Wait after the n-th failed attempt (n >= 1): base, 2·base, 4·base, ... capped at maximum."""
    if failed_attempts < 1:
        return 0.0
    return min(maximum, base * 2.0 ** min(failed_attempts - 1, 62))


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float
    max_seconds: float
    max_attempts: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "RetryPolicy":
        return cls(settings.delivery_retry_base_seconds, settings.delivery_retry_max_seconds, settings.delivery_max_attempts)

    def after_failure(self, failed_attempts: int, *, permanent: bool, now: datetime) -> datetime | None:
        """When to try again after the n-th failed attempt; None means give up (the notification fails)."""
        if permanent or failed_attempts >= self.max_attempts:
            return None
        return now + timedelta(seconds=backoff_seconds(failed_attempts, base=self.base_seconds, maximum=self.max_seconds))


def _same_request(existing: RowMapping, data: NotifyRequest) -> bool:
    return (existing["incident_id"], existing["channel"], existing["recipient"]) == (data.incident_id, data.channel, data.recipient)


def accept(
    session: Session, *, data: NotifyRequest, idempotency_key: str | None, channels: Mapping[str, Channel], now: datetime
) -> tuple[RowMapping, bool]:
    """Store the notification as pending and commit. Returns (notification, created); a replay is not created."""
    if idempotency_key is not None and (existing := service.get_by_idempotency_key(session, key=idempotency_key)):
        return _replay(existing, data), False
    if problem := channels[data.channel].recipient_problem(data.recipient):
        raise InvalidInput("Request validation failed", details=[{"field": "recipient", "message": problem, "type": "value_error"}])
    row = service.create(session, data=data, idempotency_key=idempotency_key, now=now)
    if row is None:  # a concurrent request with the same key committed first
        session.rollback()
        return _replay(service.get_by_idempotency_key(session, key=idempotency_key or ""), data), False
    session.commit()
    return row, True


def _replay(existing: RowMapping, data: NotifyRequest) -> RowMapping:
    if not _same_request(existing, data):
        raise Conflict("Idempotency-Key already used for a different incident, channel or recipient")
    return existing


@dataclass
class Dispatcher:
    session_factory: sessionmaker[Session]
    channels: Mapping[str, Channel]
    policy: RetryPolicy
    clock: Clock = utcnow

    def deliver_due(self) -> int:
        """Deliver notifications that are due, one transaction each; returns how many attempts were made."""
        return outbox.drain(self.session_factory, notifications, self._deliver, clock=self.clock, limit=MAX_DELIVERIES_PER_CYCLE)

    def _deliver(self, session: Session, row: RowMapping, now: datetime) -> outbox.AfterCommit:
        outcome, duration = self._attempt(session, row)
        return lambda: count_attempt(row["channel"], outcome=outcome, duration=duration)

    def _attempt(self, session: Session, row: RowMapping) -> tuple[str, float]:
        attempted_at = self.clock()
        started = time.perf_counter()
        error, permanent = None, False
        try:
            self.channels[row["channel"]].send(
                Notification(
                    id=row["id"],
                    incident_id=row["incident_id"],
                    channel=row["channel"],
                    recipient=row["recipient"],
                    message=row["message"],
                )
            )
        except DeliveryError as exc:
            error, permanent = str(exc), exc.permanent
        duration = time.perf_counter() - started
        number = row["attempts"] + 1
        retry_at = None if error is None else self.policy.after_failure(number, permanent=permanent, now=attempted_at)
        if error is None:
            status, outcome = NotificationStatus.SENT, "sent"
            logger.info("notification %s sent via %s (attempt %d)", row["id"], row["channel"], number)
        elif retry_at is not None:
            status, outcome = NotificationStatus.PENDING, "retry"
            logger.warning(
                "notification %s via %s: attempt %d failed, retry at %s: %s", row["id"], row["channel"], number, retry_at.isoformat(), error
            )
        else:
            status, outcome = NotificationStatus.FAILED, "failed"
            logger.error("notification %s via %s failed after %d attempt(s): %s", row["id"], row["channel"], number, error)
        service.record_attempt(
            session,
            notification=row,
            succeeded=error is None,
            error=error,
            duration=duration,
            attempted_at=attempted_at,
            status=status,
            next_attempt_at=retry_at,
        )
        return outcome, duration
