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
from oncall.engine.claims import Candidate, NotEscalated, claim_next_level, freeze_escalation_policy, freeze_policy
from oncall.engine.delivery import Deliverer
from oncall.engine.due import BATCH_SIZE, due_levels
from oncall.policies import service as policies
from platform_common.clock import utcnow
from platform_common.errors import Conflict, NotFound
from platform_common.http import ServiceClient

logger = logging.getLogger(__name__)


@dataclass
class EscalationEngine:
    session_factory: sessionmaker[Session]
    incidents: ServiceClient
    notifier: ServiceClient
    channels: list[str]
    max_backoff_seconds: float = 60.0
    clock: Callable[[], datetime] = utcnow
    batch_size: int = BATCH_SIZE
    deliverer: Deliverer = field(init=False)
    # Starts the delivery workers at once (main.py sets it): claimed levels are delivered side by side.
    wake_deliverers: Callable[[], object] = lambda: None

    def __post_init__(self) -> None:
        self.deliverer = Deliverer(self.session_factory, self.incidents, self.notifier, self.channels, self.max_backoff_seconds, self.clock)

    def run_cycle(self) -> dict[str, int]:
        """Claim every level that fell due, then deliver pending ones (with the delivery workers)."""
        claimed = self.claim_due()
        delivered = self.deliverer.deliver_due()
        return {"claimed": claimed, "delivered": delivered}

    def claim_due(self) -> int:
        """Claim every level due now, earliest deadline first, batch after batch until none is left."""
        now = self.clock()
        team_policies: dict[str, dict[str, Any] | None] = {}  # `now` is one per cycle: one policy per team
        claimed = 0
        after = None
        while True:
            with self.session_factory() as session:
                batch = due_levels(session, now=now, after=after, limit=self.batch_size)
                for team in {due.incident.team for due in batch} - team_policies.keys():
                    team_policies[team] = self._team_policy(session, team, now=now)
            for due in batch:
                if self._claim(due.incident, team_policies[due.incident.team], now=now, manual=False) is not None:
                    claimed += 1
                    self.wake_deliverers()  # delivered while the rest are still being claimed
            if len(batch) < self.batch_size:
                return claimed
            after = batch[-1].cursor

    @staticmethod
    def _team_policy(session: Session, team: str, *, now: datetime) -> dict[str, Any] | None:
        """What a first claim would freeze for the team at `now`: the escalation policy governing it, else
        its schedule's chain (None: the team has neither)."""
        if (governing := policies.governing(session, team=team)) is not None:
            return freeze_escalation_policy(governing)
        schedule = service.find(session, team=team)
        return None if schedule is None else freeze_policy(session, schedule, now=now)

    def _claim(
        self, incident: Candidate, team_policy: dict[str, Any] | None, *, now: datetime, manual: bool, reason: str | None = None
    ) -> RowMapping | None:
        with self.session_factory() as session:
            try:
                row = claim_next_level(session, incident=incident, team_policy=team_policy, now=now, manual=manual, reason=reason)
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
        now = self.clock()
        with self.session_factory() as session:
            team_policy = self._team_policy(session, incident.team, now=now)
        row = self._claim(Candidate(incident.id, incident.team, incident.created_at), team_policy, now=now, manual=True, reason=reason)
        assert row is not None  # manual claims raise instead
        return self.deliverer.deliver_one(row["id"])
