"""The escalation engine: one cycle = claim what is due, then deliver what is claimed.

`run_cycle` is what the background worker calls every `ESCALATION_INTERVAL_SECONDS`; `escalate_now`
backs `POST /api/v1/escalate`. The clock is injected (the platform clock by default), so tests move time
instead of sleeping.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from oncall import peers, service
from oncall.engine.claims import NotEscalated, Progress, claim_next_level, progress
from oncall.engine.delivery import Deliverer
from platform_common.clock import utcnow
from platform_common.errors import Conflict, NotFound
from platform_common.http import PeerUnavailable, ServiceClient

logger = logging.getLogger(__name__)
_NO_PROGRESS = Progress(snapshot=None, last_level=0)


@dataclass
class EscalationEngine:
    session_factory: sessionmaker[Session]
    incidents: ServiceClient
    notifier: ServiceClient
    channels: list[str]
    max_backoff_seconds: float = 60.0
    clock: Callable[[], datetime] = utcnow
    deliverer: Deliverer = field(init=False)

    def __post_init__(self) -> None:
        self.deliverer = Deliverer(self.session_factory, self.incidents, self.notifier, self.channels, self.max_backoff_seconds, self.clock)

    def run_cycle(self) -> dict[str, int]:
        """Claim every level that fell due, then deliver pending ones. A peer down ends the step, not the worker."""
        claimed = self.claim_due()
        delivered = self.deliverer.deliver_due()
        return {"claimed": claimed, "delivered": delivered}

    def claim_due(self) -> int:
        try:
            open_incidents = list(peers.open_incidents(self.incidents))
        except (PeerUnavailable, peers.PeerRejected) as exc:
            logger.warning("escalation scan skipped: %s", exc)
            return 0
        if not open_incidents:
            return 0
        now = self.clock()
        with self.session_factory() as session:
            schedules = self._schedules(session, {incident.team for incident in open_incidents})
            known = progress(session, incident_ids=[incident.id for incident in open_incidents])
        claimed = 0
        for incident in open_incidents:
            schedule = schedules.get(incident.team)
            due = known.get(incident.id, _NO_PROGRESS).next_due(incident, schedule)
            if due is not None and due <= now and self._claim(incident, schedule, now=now, manual=False) is not None:
                claimed += 1
        return claimed

    @staticmethod
    def _schedules(session: Session, teams: set[str]) -> dict[str, dict[str, Any]]:
        found = {team: service.find(session, team=team) for team in teams}
        return {team: schedule for team, schedule in found.items() if schedule is not None}

    def _claim(
        self, incident: peers.Incident, schedule: dict[str, Any] | None, *, now: datetime, manual: bool, reason: str | None = None
    ) -> RowMapping | None:
        with self.session_factory() as session:
            try:
                row = claim_next_level(session, incident=incident, schedule=schedule, now=now, manual=manual, reason=reason)
                session.commit()
            except (NotEscalated, IntegrityError) as exc:
                session.rollback()
                if manual:
                    raise Conflict(f"Cannot escalate: {exc}") from exc
                return None
        logger.info("incident %s: claimed escalation level %s (%s)", incident.id, row["level"], row["name"])
        return row

    def escalate_now(self, incident_id: UUID, reason: str | None) -> RowMapping:
        """Escalate an incident to its next level right away (any status but resolved)."""
        incident = peers.get_incident(self.incidents, incident_id)
        if incident is None:
            raise NotFound(f"Incident {incident_id} not found")
        if incident.status == "resolved":
            raise Conflict(f"Incident {incident_id} is resolved")
        with self.session_factory() as session:
            schedule = service.find(session, team=incident.team)
        row = self._claim(incident, schedule, now=self.clock(), manual=True, reason=reason)
        assert row is not None  # manual claims raise instead
        return self.deliverer.deliver_one(row["id"])
