"""Telling the incident's timeline that a page is failing (`page_failing`) or has failed (`page_failed`).

A report is queued in the same transaction as the delivery outcome that calls for it, then sent to
incident-management by its own worker under a lease (`platform_common.outbox`: no transaction is open
during the call), retried with backoff until it lands, so it is never lost. Its idempotency key
(`page-failing:<notification id>`) makes a report queued or sent twice count once.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import RowMapping
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, sessionmaker

from notification.incidents import ReportRejected, record_event
from notification.retries import PAGE_FAILED, backoff_seconds
from notification.schemas import looks_like_url
from notification.tables import timeline_reports
from platform_common import outbox
from platform_common.clock import utcnow
from platform_common.http import PeerUnavailable, ServiceClient

logger = logging.getLogger(__name__)
MAX_REPORTS_PER_CYCLE = 50
MAX_ERROR_IN_MESSAGE = 300
MIN_WAIT_SECONDS = 1.0  # between tries of one report, whatever the delivery backoff is set to
LEASE_SECONDS = 60.0  # longer than one report's call to incident-management with its timeout and retries


def shown_recipient(recipient: str) -> str:
    """A recipient as the timeline may show it: a webhook URL's path often holds its secret, so only
    its scheme and host are shown."""
    if looks_like_url(recipient):
        parts = urlsplit(recipient)
        return f"{parts.scheme}://{parts.netloc}/…"
    return recipient


def _message(kind: str, notification: RowMapping, error: str | None, attempts: int) -> str:
    who, channel = shown_recipient(notification["recipient"]), notification["channel"]
    problem = (error or "unknown error")[:MAX_ERROR_IN_MESSAGE]
    if kind == PAGE_FAILED:
        return f"Page to {who} via {channel} failed after {attempts} attempt(s), not retried any more: {problem}"
    return f"Page to {who} via {channel} still not delivered after {attempts} attempts; retrying until acknowledged: {problem}"


def queue(session: Session, *, kind: str, notification: RowMapping, error: str | None, attempts: int, now: datetime) -> None:
    """Queue a timeline report about this notification (a second one of the same kind adds nothing)."""
    data: dict[str, Any] = {
        "notification_id": str(notification["id"]),
        "channel": notification["channel"],
        "recipient": shown_recipient(notification["recipient"]),
        "attempts": attempts,
        "error": (error or "")[:MAX_ERROR_IN_MESSAGE],
    }
    if notification["fallbacks"]:
        data["fallback"] = {**notification["fallbacks"][0], "recipient": shown_recipient(notification["fallbacks"][0]["recipient"])}
    statement = pg_insert(timeline_reports).values(
        notification_id=notification["id"],
        incident_id=notification["incident_id"],
        kind=kind,
        message=_message(kind, notification, error, attempts),
        data=data,
        idempotency_key=f"{kind.replace('_', '-')}:{notification['id']}",
        status="pending",
        created_at=now,
        next_attempt_at=now,
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=[timeline_reports.c.idempotency_key]))


@dataclass
class Reporter:
    session_factory: sessionmaker[Session]
    incidents: ServiceClient
    base_seconds: float
    max_seconds: float
    clock: Callable[[], datetime] = utcnow

    def report_due(self) -> int:
        """Send the reports that are due, each under a lease; returns how many were handled."""
        return outbox.drain(
            self.session_factory, timeline_reports, self._send, clock=self.clock, lease_seconds=LEASE_SECONDS, limit=MAX_REPORTS_PER_CYCLE
        )

    def _send(self, report: RowMapping) -> None:
        values: dict[str, Any] = {"attempts": report["attempts"] + 1}
        try:
            recorded = record_event(
                self.incidents,
                incident_id=report["incident_id"],
                kind=report["kind"],
                message=report["message"],
                data=report["data"],
                key=report["idempotency_key"],
            )
        except PeerUnavailable as exc:
            wait = max(MIN_WAIT_SECONDS, backoff_seconds(values["attempts"], base=self.base_seconds, maximum=self.max_seconds))
            values.update(last_error=str(exc), next_attempt_at=self.clock() + timedelta(seconds=wait))
            logger.warning("timeline report %s pending (attempt %d): %s", report["idempotency_key"], values["attempts"], exc)
        except ReportRejected as exc:
            values.update(status="dropped", last_error=str(exc), next_attempt_at=None)
            logger.error("timeline report %s dropped: %s", report["idempotency_key"], exc)
        else:
            if recorded:
                values.update(status="sent", sent_at=self.clock(), next_attempt_at=None, last_error=None)
            else:
                values.update(status="dropped", next_attempt_at=None, last_error="incident unknown to incident-management")
        with self.session_factory() as session:
            if not outbox.record(session, timeline_reports, report, **values):
                logger.warning("timeline report %s: lease lost while sending, outcome not recorded", report["idempotency_key"])
            session.commit()
