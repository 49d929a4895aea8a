"""Step 2 of escalation: deliver claimed levels — page the new assignee, record it on the incident.

Each pending row is handled in its own transaction holding its row lock (`FOR UPDATE SKIP LOCKED`), so
two replicas never deliver the same row at once. Pages carry idempotency keys, so a delivery retried
after a failure half-way never pages twice.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, select, update
from sqlalchemy.orm import Session, sessionmaker

from oncall import peers
from oncall.metrics import ESCALATIONS
from oncall.tables import escalations
from platform_common import outbox
from platform_common.http import PeerUnavailable, ServiceClient

logger = logging.getLogger(__name__)
MAX_PER_CYCLE = 50


def page_key(row: RowMapping, channel: str) -> str:
    return f"escalation:{row['incident_id']}:{row['level']}:{channel}"


def page_message(row: RowMapping, incident: peers.Incident) -> str:
    return (
        f"[ESCALATED level {row['level']}] [{incident.severity.upper()}] {incident.title} — service {incident.team}, "
        f"incident {incident.id}: {row['reason']}"
    )


@dataclass
class Deliverer:
    session_factory: sessionmaker[Session]
    incidents: ServiceClient
    notifier: ServiceClient
    channels: list[str]
    max_backoff_seconds: float
    clock: Callable[[], datetime]

    def deliver_due(self) -> int:
        """Deliver every pending escalation that is due; returns how many rows were handled."""
        return outbox.drain(self.session_factory, escalations, self._deliver_claimed, clock=self.clock, limit=MAX_PER_CYCLE)

    def _deliver_claimed(self, session: Session, row: RowMapping, now: datetime) -> outbox.AfterCommit:
        if self.deliver(session, row, now=now) == "paged":
            return lambda: ESCALATIONS.labels(row["team"]).inc()
        return None

    def deliver_one(self, escalation_id: Any) -> RowMapping:
        """Deliver one just-claimed escalation now (on-demand escalation); returns its row afterwards."""
        with self.session_factory() as session:
            row = (
                session.execute(
                    select(escalations)
                    .where(escalations.c.id == escalation_id, escalations.c.status == "pending")
                    .with_for_update(skip_locked=True)
                )
                .mappings()
                .first()
            )
            if row is not None:
                outcome = self.deliver(session, row, now=self.clock())
                session.commit()
                if outcome == "paged":
                    ESCALATIONS.labels(row["team"]).inc()
            return session.execute(select(escalations).where(escalations.c.id == escalation_id)).mappings().one()

    def deliver(self, session: Session, row: RowMapping, *, now: datetime) -> str:
        """Page and record one escalation; returns its new status (pending when a peer is down)."""
        try:
            incident = peers.get_incident(self.incidents, row["incident_id"])
            if incident is None or incident.status == "resolved" or (not row["manual"] and incident.status != "open"):
                state = "gone" if incident is None else incident.status
                return self._finish(session, row, "cancelled", now=now, error=f"incident is {state}")
            for channel in self.channels:
                peers.page(
                    self.notifier,
                    incident_id=incident.id,
                    channel=channel,
                    recipient=row["email"],
                    message=page_message(row, incident),
                    key=page_key(row, channel),
                )
            peers.record_event(
                self.incidents,
                incident_id=incident.id,
                kind="escalated",
                assigned_to=row["name"],
                message=f"Escalated to level {row['level']}: {row['name']} ({row['email']}) — {row['reason']}",
                data={
                    "level": row["level"],
                    "to": row["name"],
                    "email": row["email"],
                    "reason": row["reason"],
                    "manual": row["manual"],
                    "channels": self.channels,
                    "escalation_id": str(row["id"]),
                },
            )
        except PeerUnavailable as exc:
            return self._retry_later(session, row, str(exc), now)
        except peers.PeerRejected as exc:
            logger.error("escalation %s of incident %s failed: %s", row["level"], row["incident_id"], exc)
            return self._finish(session, row, "failed", now=now, error=str(exc))
        logger.info("incident %s escalated to level %s (%s)", row["incident_id"], row["level"], row["name"])
        return self._finish(session, row, "paged", now=now)

    def _retry_later(self, session: Session, row: RowMapping, error: str, now: datetime) -> str:
        attempts = row["attempts"] + 1
        delay = min(self.max_backoff_seconds, 2.0**attempts)
        session.execute(
            update(escalations)
            .where(escalations.c.id == row["id"])
            .values(attempts=attempts, last_error=error, next_attempt_at=now + timedelta(seconds=delay))
        )
        logger.warning("escalation %s of incident %s pending (attempt %d): %s", row["level"], row["incident_id"], attempts, error)
        return "pending"

    @staticmethod
    def _finish(session: Session, row: RowMapping, status: str, *, now: datetime, error: str | None = None) -> str:
        session.execute(
            update(escalations)
            .where(escalations.c.id == row["id"])
            .values(status=status, attempts=row["attempts"] + 1, last_error=error, delivered_at=now)
        )
        return status
