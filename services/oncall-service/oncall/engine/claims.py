"""Step 1 of escalation: decide that an incident's next level is due and claim it exactly once.

Every function here runs inside the caller's transaction; `claim_next_level` takes the incident's
advisory lock, so replicas looking at the same incident one after the other see each other's claims.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from oncall import service
from oncall.peers import Incident
from oncall.tables import escalation_policies, escalations
from platform_common.db import advisory_xact_lock


class NotEscalated(Exception):
    """Nothing to claim: no schedule, not due yet, or every level already used."""


@dataclass(frozen=True)
class Progress:
    """An incident's escalation so far: its frozen policy (None before the first level) and last level."""

    snapshot: dict[str, Any] | None
    last_level: int

    def next_due(self, incident: Incident, schedule: dict[str, Any] | None) -> datetime | None:
        """When the next level falls due (None: no policy or no level left)."""
        policy = self.snapshot or (snapshot_policy_shape(schedule) if schedule else None)
        if policy is None or self.last_level >= policy["level_count"]:
            return None
        return incident.created_at + timedelta(minutes=policy["escalation_minutes"] * (self.last_level + 1))


def snapshot_policy_shape(schedule: dict[str, Any]) -> dict[str, Any]:
    """The policy a schedule would freeze, without naming the secondary yet (cheap: no rotation math)."""
    return {"escalation_minutes": schedule["escalation_minutes"], "level_count": 1 + len(schedule["escalation_levels"])}


def progress(session: Session, *, incident_ids: list[UUID]) -> dict[UUID, Progress]:
    """Progress of every listed incident that has started escalating."""
    last = (
        select(escalations.c.incident_id, func.max(escalations.c.level).label("last_level"))
        .where(escalations.c.incident_id.in_(incident_ids))
        .group_by(escalations.c.incident_id)
        .subquery()
    )
    rows = session.execute(
        select(escalation_policies.c.incident_id, escalation_policies.c.snapshot, last.c.last_level)
        .outerjoin(last, last.c.incident_id == escalation_policies.c.incident_id)
        .where(escalation_policies.c.incident_id.in_(incident_ids))
    ).all()
    return {incident_id: Progress(_with_count(snapshot), last_level or 0) for incident_id, snapshot, last_level in rows}


def _with_count(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {**snapshot, "level_count": len(snapshot["levels"])}


def freeze_policy(session: Session, schedule: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """The team's escalation chain as of now: the current secondary, then the further levels."""
    secondary = service.current_of(session, schedule, now=now).secondary
    levels = [{"name": secondary.name, "email": secondary.email}, *schedule["escalation_levels"]]
    return {"escalation_minutes": schedule["escalation_minutes"], "levels": levels}


def claim_next_level(
    session: Session, *, incident: Incident, schedule: dict[str, Any] | None, now: datetime, manual: bool, reason: str | None = None
) -> RowMapping:
    """Claim the incident's next escalation level (a pending `escalations` row) or raise NotEscalated.

    Automatic claims need the level to be due; manual ones (`POST /api/v1/escalate`) do not.
    """
    advisory_xact_lock(session, f"oncall:escalate:{incident.id}")
    policy = session.execute(select(escalation_policies.c.snapshot).where(escalation_policies.c.incident_id == incident.id)).scalar()
    if policy is None:
        if schedule is None:
            raise NotEscalated(f"team '{incident.team}' has no on-call schedule")
        policy = freeze_policy(session, schedule, now=now)
        session.execute(
            pg_insert(escalation_policies)
            .values(
                incident_id=incident.id,
                team=incident.team,
                snapshot=policy,
                incident_created_at=incident.created_at,
                created_at=now,
            )
            .on_conflict_do_nothing()
        )
    last_level = session.execute(
        select(func.coalesce(func.max(escalations.c.level), 0)).where(escalations.c.incident_id == incident.id)
    ).scalar_one()
    level = last_level + 1
    if level > len(policy["levels"]):
        raise NotEscalated(f"incident {incident.id} is already escalated to its last level ({last_level})")
    minutes = policy["escalation_minutes"] * level
    if not manual and now < incident.created_at + timedelta(minutes=minutes):
        raise NotEscalated(f"level {level} of incident {incident.id} is not due yet")
    target = policy["levels"][level - 1]
    why = reason or ("escalated on demand" if manual else f"not acknowledged within {minutes} minutes")
    return (
        session.execute(
            insert(escalations)
            .values(
                incident_id=incident.id,
                team=incident.team,
                level=level,
                name=target["name"],
                email=target["email"],
                reason=why,
                manual=manual,
                status="pending",
                next_attempt_at=now,
                created_at=now,
            )
            .returning(escalations)
        )
        .mappings()
        .one()
    )
