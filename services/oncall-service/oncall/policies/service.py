"""Escalation policies: keyword-only functions over `oncall.policies`. Callers own the transaction.

Every target must name something that exists when the policy is written (a user id, a team with an
on-call schedule, an identity team); what it stands for is looked up again when its step fires.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from oncall.identity.tables import teams, users
from oncall.policies.schemas import PolicyIn, Target
from oncall.policies.tables import policies
from oncall.tables import schedules
from platform_common.errors import Conflict, InvalidInput, NotFound
from platform_common.pagination import Page, count_total


def _user_id(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


def _unknown_targets(session: Session, targets: list[Target]) -> list[str]:
    wanted = {kind: {t.id for t in targets if t.type == kind} for kind in ("user", "schedule", "team")}
    user_ids = {uid for value in wanted["user"] if (uid := _user_id(value)) is not None}
    known = {
        "user": {str(uid) for uid in session.execute(select(users.c.id).where(users.c.id.in_(user_ids))).scalars()},
        "schedule": set(session.execute(select(schedules.c.team).where(schedules.c.team.in_(wanted["schedule"]))).scalars()),
        "team": set(session.execute(select(teams.c.name).where(teams.c.name.in_(wanted["team"]))).scalars()),
    }
    return [
        f"{kind} '{value}'"
        for kind, values in wanted.items()
        for value in sorted(values)
        if (str(_user_id(value)) if kind == "user" else value) not in known[kind]
    ]


def _validated(session: Session, data: PolicyIn) -> dict[str, Any]:
    targets = [target for step in data.steps for target in step.targets]
    if unknown := _unknown_targets(session, targets):
        message = f"unknown targets: {', '.join(unknown)}"
        raise InvalidInput(f"Invalid steps: {message}", details=[{"field": "steps", "message": message, "type": "value_error"}])
    return {"name": data.name, "team": data.team, "steps": [step.model_dump() for step in data.steps], "repeat": data.repeat}


def _taken(data: PolicyIn) -> Conflict:
    return Conflict(f"A policy named '{data.name}'" + (f" or one governing team '{data.team}'" if data.team else "") + " exists")


def get_or_raise(session: Session, *, policy_id: UUID) -> RowMapping:
    row = session.execute(select(policies).where(policies.c.id == policy_id)).mappings().first()
    if row is None:
        raise NotFound(f"Escalation policy {policy_id} not found")
    return row


def governing(session: Session, *, team: str) -> RowMapping | None:
    """The policy that governs the team's incidents, if any."""
    return session.execute(select(policies).where(policies.c.team == team)).mappings().first()


def list_(session: Session, *, team: str | None, page: Page) -> tuple[list[RowMapping], int]:
    query = select(policies) if team is None else select(policies).where(policies.c.team == team)
    total = count_total(session, query, page)
    rows = session.execute(query.order_by(policies.c.name, policies.c.id).limit(page.limit).offset(page.offset)).mappings().all()
    return list(rows), total


def create(session: Session, *, data: PolicyIn, now: datetime) -> RowMapping:
    values = _validated(session, data)
    try:
        with session.begin_nested():
            statement = insert(policies).values(**values, created_at=now, updated_at=now).returning(*policies.c)
            return session.execute(statement).mappings().one()
    except IntegrityError:
        raise _taken(data) from None


def replace(session: Session, *, policy_id: UUID, data: PolicyIn, now: datetime) -> RowMapping:
    """Replace the policy; escalations already running keep the copy frozen at their first step."""
    get_or_raise(session, policy_id=policy_id)
    values = _validated(session, data)
    try:
        with session.begin_nested():
            statement = update(policies).where(policies.c.id == policy_id).values(**values, updated_at=now).returning(*policies.c)
            return session.execute(statement).mappings().one()
    except IntegrityError:
        raise _taken(data) from None


def delete_(session: Session, *, policy_id: UUID) -> None:
    if session.execute(delete(policies).where(policies.c.id == policy_id)).rowcount == 0:
        raise NotFound(f"Escalation policy {policy_id} not found")
