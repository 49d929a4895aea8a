"""Step 1 of escalation, the claim: take an incident's next level exactly once.

`due.due_levels` says which levels look due; `claim_next_level` re-checks under the incident's advisory
transaction lock and inserts one `escalations` row (UNIQUE(incident_id, level)), so replicas claiming
the same incident one after the other see each other's claims. It runs inside the caller's
transaction, which the caller commits before anything is sent.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from oncall import service
from oncall.engine import recipients
from oncall.policies import timing
from oncall.tables import escalation_policies, escalations
from platform_common.db import advisory_xact_lock


class NotEscalated(Exception):
    """Nothing to claim: no schedule or policy, not due yet, or every level already used."""


@dataclass(frozen=True)
class Candidate:
    """What a claim needs to know of an incident: its team (the incident's service) and its age."""

    id: UUID
    team: str
    created_at: datetime


def freeze_policy(session: Session, schedule: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """The team's escalation chain as of now: the current secondary, then the further levels."""
    secondary = service.current_of(session, schedule, now=now).secondary
    levels = [{"name": secondary.name, "email": secondary.email}, *schedule["escalation_levels"]]
    return {"escalation_minutes": schedule["escalation_minutes"], "levels": levels}


def freeze_escalation_policy(policy: RowMapping) -> dict[str, Any]:
    """An escalation policy as it is now: every level it will page, then its exhaustion level."""
    return {
        "policy_id": str(policy["id"]),
        "name": policy["name"],
        "repeat": policy["repeat"],
        "levels": [level.as_json() for level in timing.levels(policy["steps"], policy["repeat"])],
    }


def _due_after_minutes(policy: dict[str, Any], level: int) -> int:
    """Minutes after the incident's creation when `level` of a frozen policy falls due."""
    frozen = policy["levels"][level - 1]
    return frozen["after_minutes"] if "after_minutes" in frozen else policy["escalation_minutes"] * level


def _reason(policy: dict[str, Any], frozen: dict[str, Any], minutes: int, *, manual: bool) -> str:
    if manual:
        return "escalated on demand"
    if frozen.get("exhausted"):
        return f"not acknowledged within {minutes} minutes: policy '{policy['name']}' ran every step {policy['repeat'] + 1} time(s)"
    if "step" in frozen:
        return f"policy '{policy['name']}' step {frozen['step']}, round {frozen['round']} of {policy['repeat'] + 1}"
    return f"not acknowledged within {minutes} minutes"


def claim_next_level(
    session: Session, *, incident: Candidate, team_policy: dict[str, Any] | None, now: datetime, manual: bool, reason: str | None = None
) -> RowMapping:
    """Claim the incident's next escalation level (a pending `escalations` row) or raise NotEscalated.

    The first claim freezes `team_policy` (the governing escalation policy, else the team's schedule, as
    of `now`; None when the team has neither). Automatic claims need the level to be due; manual ones
    (`POST /api/v1/escalate`) do not, and never claim the exhaustion level. Who the level pages is
    resolved now and stored on the row.
    """
    advisory_xact_lock(session, f"oncall:escalate:{incident.id}")
    policy = session.execute(select(escalation_policies.c.snapshot).where(escalation_policies.c.incident_id == incident.id)).scalar()
    if policy is None:
        if team_policy is None:
            raise NotEscalated(f"team '{incident.team}' has no on-call schedule or escalation policy")
        policy = team_policy
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
    if level > len(policy["levels"]) or (manual and policy["levels"][level - 1].get("exhausted")):
        raise NotEscalated(f"incident {incident.id} is already escalated to its last level ({last_level})")
    minutes = _due_after_minutes(policy, level)
    if not manual and now < incident.created_at + timedelta(minutes=minutes):
        raise NotEscalated(f"level {level} of incident {incident.id} is not due yet")
    frozen = policy["levels"][level - 1]
    people = recipients.resolve(session, frozen, team=incident.team, now=now)
    return (
        session.execute(
            insert(escalations)
            .values(
                incident_id=incident.id,
                team=incident.team,
                level=level,
                name=", ".join(person.name for person in people)[:200] or "nobody",
                email=people[0].email if people else "",
                recipients=[person.as_json() for person in people],
                kind="exhausted" if frozen.get("exhausted") else "step",
                reason=reason or _reason(policy, frozen, minutes, manual=manual),
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
