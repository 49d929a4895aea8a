"""Step 2 of escalation: deliver claimed levels — page its recipients, record it on the incident.

No transaction or lock is held while a peer is called: each pending level that is due is leased with
`platform_common.outbox` (for `LEASE_SECONDS`), the pages and the timeline event are sent, and the outcome
is recorded only if the lease is still ours. A replica that dies mid-delivery leaves the row to be taken
again when the lease runs out; idempotency keys on the pages and the timeline event make that second
attempt a no-op where the first got through.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, select
from sqlalchemy.orm import Session, sessionmaker

from oncall import peers
from oncall.engine import recipients
from oncall.metrics import ESCALATIONS
from oncall.tables import escalations
from platform_common import outbox
from platform_common.http import PeerUnavailable, ServiceClient
from platform_common.pagelinks import PageLinker

logger = logging.getLogger(__name__)
MAX_PER_CYCLE = 50
# Longer than a whole delivery: every peer call with its timeout and retries (about 25 s by default).
LEASE_SECONDS = 60.0


def event_key(row: RowMapping) -> str:
    return f"escalation-event:{row['incident_id']}:{row['level']}"


def page_message(row: RowMapping, incident: peers.Incident) -> str:
    if row["kind"] == "exhausted":
        return (
            f"[UNANSWERED] [{incident.severity.upper()}] {incident.title} — service {incident.team}, incident {incident.id}: "
            f"{row['reason']}; nobody has acknowledged it"
        )
    return (
        f"[ESCALATED level {row['level']}] [{incident.severity.upper()}] {incident.title} — service {incident.team}, "
        f"incident {incident.id}: {row['reason']}"
    )


def _names(row: RowMapping) -> str:
    return ", ".join(f"{person['name']} ({person['email']})" for person in row["recipients"]) or "nobody"


@dataclass(frozen=True)
class Outcome:
    status: str
    error: str | None = None


@dataclass
class Deliverer:
    session_factory: sessionmaker[Session]
    incidents: ServiceClient
    notifier: ServiceClient
    channels: list[str]
    max_backoff_seconds: float
    clock: Callable[[], datetime]
    links: PageLinker = field(default_factory=PageLinker.from_environment)  # PAGE_LINK_SECRET, PUBLIC_URL

    def deliver_due(self) -> int:
        """Deliver pending escalations that are due, at most `MAX_PER_CYCLE`; returns how many were handled."""
        return outbox.drain(
            self.session_factory, escalations, self._deliver, clock=self.clock, lease_seconds=LEASE_SECONDS, limit=MAX_PER_CYCLE
        )

    def deliver_one(self, escalation_id: Any) -> RowMapping:
        """Deliver one just-claimed escalation now (on-demand escalation); returns its row afterwards."""
        where = escalations.c.id == escalation_id
        leased = outbox.take(self.session_factory, escalations, now=self.clock(), lease_seconds=LEASE_SECONDS, where=where)
        if leased is not None:
            self._deliver(leased)
        with self.session_factory() as session:
            return session.execute(select(escalations).where(where)).mappings().one()

    def _deliver(self, row: RowMapping) -> None:
        outcome = self._send(row)
        if self._record(row, outcome) and outcome.status == "paged" and row["kind"] == "step":
            ESCALATIONS.labels(row["team"]).inc()

    def _send(self, row: RowMapping) -> Outcome:
        """Page and record one escalation on the incident (peers only, no database)."""
        try:
            incident = peers.get_incident(self.incidents, row["incident_id"])
            if incident is None or incident.status == "resolved" or (not row["manual"] and incident.status != "open"):
                return Outcome("cancelled", f"incident is {'gone' if incident is None else incident.status}")
            recipients.page(
                self.notifier, self.channels, row=row, incident_id=incident.id, message=page_message(row, incident), links=self.links
            )
            self._record_event(row, incident)
        except PeerUnavailable as exc:
            return Outcome("pending", str(exc))
        except peers.PeerRejected as exc:
            logger.error("escalation %s of incident %s failed: %s", row["level"], row["incident_id"], exc)
            return Outcome("failed", str(exc))
        if not row["recipients"]:
            return Outcome("failed", "nobody to page: " + ("no admin user" if row["kind"] == "exhausted" else "no target resolved"))
        logger.info("incident %s escalated to level %s (%s)", row["incident_id"], row["level"], row["name"])
        return Outcome("paged")

    def _record_event(self, row: RowMapping, incident: peers.Incident) -> None:
        """`escalated` (reassigning the incident to the first person paged), or `escalation_exhausted` once."""
        data = {
            "level": row["level"],
            "to": row["name"],
            "email": row["email"],
            "recipients": recipients.public(row["recipients"]),
            "reason": row["reason"],
            "manual": row["manual"],
            "channels": self.channels,
            "escalation_id": str(row["id"]),
        }
        if row["kind"] == "exhausted":
            message = f"Escalation exhausted, still unacknowledged — {row['reason']}. Admins told: {_names(row)}"
            peers.record_event(
                self.incidents, incident_id=incident.id, kind="escalation_exhausted", key=event_key(row), message=message, data=data
            )
            return
        peers.record_event(
            self.incidents,
            incident_id=incident.id,
            kind="escalated",
            key=event_key(row),
            assigned_to=row["recipients"][0]["name"] if row["recipients"] else None,
            message=f"Escalated to level {row['level']}: {_names(row)} — {row['reason']}",
            data=data,
        )

    def _record(self, row: RowMapping, outcome: Outcome) -> bool:
        """Write the outcome if the lease is still ours (False: it ran out and another replica took the row)."""
        now = self.clock()
        attempts = row["attempts"] + 1
        if outcome.status == "pending":
            retry_at = now + timedelta(seconds=min(self.max_backoff_seconds, 2.0**attempts))
            values: dict[str, Any] = {"next_attempt_at": retry_at}
            logger.warning(
                "escalation %s of incident %s pending (attempt %d): %s", row["level"], row["incident_id"], attempts, outcome.error
            )
        else:
            values = {"status": outcome.status, "delivered_at": now}
        with self.session_factory() as session:
            recorded = outbox.record(session, escalations, row, **values, attempts=attempts, last_error=outcome.error)
            session.commit()
        if not recorded:
            logger.warning(
                "escalation %s of incident %s: lease lost, outcome %s not recorded", row["level"], row["incident_id"], outcome.status
            )
        return recorded
