"""Users and teams: keyword-only functions over the identity tables. Callers own the transaction."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from oncall.identity.passwords import hash_password
from oncall.identity.schemas import TeamCreate, UserCreate, UserUpdate
from oncall.identity.tables import team_members, teams, users
from platform_common.errors import Conflict, InvalidInput, NotFound
from platform_common.pagination import Page, count_total


def public(row: RowMapping) -> dict[str, Any]:
    """A user as the API shows it: never the password hash."""
    return {**{key: value for key, value in row.items() if key != "password_hash"}, "has_password": row["password_hash"] is not None}


def get_or_raise(session: Session, *, user_id: UUID) -> RowMapping:
    row = session.execute(select(users).where(users.c.id == user_id)).mappings().first()
    if row is None:
        raise NotFound(f"User {user_id} not found")
    return row


def get_by_email(session: Session, *, email: str) -> RowMapping | None:
    return session.execute(select(users).where(func.lower(users.c.email) == email.strip().lower())).mappings().first()


def _email_taken(email: str) -> Conflict:
    return Conflict(f"A user with email {email} exists")


def create(session: Session, *, data: UserCreate, now: datetime) -> RowMapping:
    values = {"name": data.name, "email": data.email, "role": data.role, "created_at": now, "updated_at": now}
    values["password_hash"] = hash_password(data.password) if data.password else None
    try:
        with session.begin_nested():
            return session.execute(insert(users).values(**values).returning(*users.c)).mappings().one()
    except IntegrityError:
        raise _email_taken(data.email) from None


def list_(session: Session, *, page: Page) -> tuple[list[RowMapping], int]:
    total = count_total(session, select(users), page)
    rows = session.execute(select(users).order_by(users.c.name, users.c.id).limit(page.limit).offset(page.offset)).mappings().all()
    return list(rows), total


def update_(session: Session, *, user_id: UUID, change: UserUpdate, now: datetime) -> RowMapping:
    get_or_raise(session, user_id=user_id)
    values: dict[str, Any] = change.model_dump(include=change.model_fields_set - {"password"}, exclude_none=True)
    if "password" in change.model_fields_set:
        values["password_hash"] = hash_password(change.password) if change.password else None
    try:
        with session.begin_nested():
            return (
                session.execute(update(users).where(users.c.id == user_id).values(**values, updated_at=now).returning(*users.c))
                .mappings()
                .one()
            )
    except IntegrityError:
        raise _email_taken(change.email or "") from None


def delete_(session: Session, *, user_id: UUID) -> None:
    """Deleting a user deletes their tokens and sessions with them (refused everywhere within seconds)."""
    if session.execute(delete(users).where(users.c.id == user_id)).rowcount == 0:
        raise NotFound(f"User {user_id} not found")


def _team_out(session: Session, team: RowMapping) -> dict[str, Any]:
    rows = session.execute(
        select(users)
        .join(team_members, team_members.c.user_id == users.c.id)
        .where(team_members.c.team_id == team["id"])
        .order_by(users.c.name)
    ).mappings()
    return {**team, "members": [public(row) for row in rows]}


def create_team(session: Session, *, data: TeamCreate, now: datetime) -> dict[str, Any]:
    member_ids = list(dict.fromkeys(data.member_ids))
    known = set(session.execute(select(users.c.id).where(users.c.id.in_(member_ids))).scalars())
    if unknown := [str(member) for member in member_ids if member not in known]:
        raise InvalidInput(
            "Unknown users", details=[{"field": "member_ids", "message": f"unknown user ids: {', '.join(unknown)}", "type": "value_error"}]
        )
    try:
        with session.begin_nested():
            team = session.execute(insert(teams).values(name=data.name, created_at=now).returning(*teams.c)).mappings().one()
    except IntegrityError:
        raise Conflict(f"Team {data.name} exists") from None
    if member_ids:
        session.execute(insert(team_members), [{"team_id": team["id"], "user_id": member} for member in member_ids])
    return _team_out(session, team)


def list_teams(session: Session) -> list[dict[str, Any]]:
    return [_team_out(session, team) for team in session.execute(select(teams).order_by(teams.c.name)).mappings()]


def delete_team(session: Session, *, name: str) -> None:
    if session.execute(delete(teams).where(teams.c.name == name)).rowcount == 0:
        raise NotFound(f"Team {name} not found")
