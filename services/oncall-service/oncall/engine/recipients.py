"""Who an escalation level pages, and how: the one place both are decided.

`resolve` runs when a level is claimed (inside the claim's transaction, database only) and turns the
frozen level into people: a schedule's frozen person; a policy step's targets (a user; a team's on-call
primary at that moment; every member of an identity team); or, for the exhaustion level, the team's
admins (the admins among the identity team named like the incident's team, else every admin). The
people are stored on the `escalations` row, so a retried delivery pages the same ones.

`page` runs at delivery (peers only, no database): each recipient on every page channel, each page with
its own idempotency key.
"""

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, select
from sqlalchemy.orm import Session

from oncall import peers, service
from oncall.identity.tables import team_members, teams, users
from platform_common.http import ServiceClient
from platform_common.pagelinks import PageLinker, Who


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str
    user_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _users(rows: Iterable[RowMapping]) -> list[Recipient]:
    return [Recipient(row["name"], row["email"], str(row["id"])) for row in rows]


def _team_members(session: Session, team: str, *, admins_only: bool = False) -> list[Recipient]:
    query = select(users).join(team_members, team_members.c.user_id == users.c.id).join(teams, teams.c.id == team_members.c.team_id)
    query = query.where(teams.c.name == team)
    if admins_only:
        query = query.where(users.c.role == "admin")
    return _users(session.execute(query.order_by(users.c.name, users.c.id)).mappings())


def _user(session: Session, user_id: str) -> list[Recipient]:
    try:
        wanted = UUID(user_id)
    except ValueError:
        return []
    return _users(session.execute(select(users).where(users.c.id == wanted)).mappings())


def _schedule_primary(session: Session, team: str, *, now: datetime) -> list[Recipient]:
    schedule = service.find(session, team=team)
    if schedule is None:
        return []
    primary = service.current_of(session, schedule, now=now).primary
    return [Recipient(primary.name, primary.email)]


def admins_of(session: Session, team: str) -> list[Recipient]:
    """The team's admins: identity team `team`'s members with role admin, else every admin user."""
    return _team_members(session, team, admins_only=True) or _users(
        session.execute(select(users).where(users.c.role == "admin").order_by(users.c.name, users.c.id)).mappings()
    )


def _target(session: Session, target: dict[str, str], *, now: datetime) -> list[Recipient]:
    if target["type"] == "user":
        return _user(session, target["id"])
    if target["type"] == "schedule":
        return _schedule_primary(session, target["id"], now=now)
    return _team_members(session, target["id"])


def resolve(session: Session, level: dict[str, Any], *, team: str, now: datetime) -> list[Recipient]:
    """Everyone a frozen level pages, once each (by email), in target order."""
    if level.get("exhausted"):
        found = admins_of(session, team)
    elif "targets" in level:
        found = [person for target in level["targets"] for person in _target(session, target, now=now)]
    else:  # a schedule's level: the person frozen with it
        found = [Recipient(level["name"], level["email"])]
    unique: dict[str, Recipient] = {}
    for person in found:
        unique.setdefault(person.email.lower(), person)
    return list(unique.values())


def page_key(row: RowMapping, channel: str, recipient: dict[str, Any]) -> str:
    return f"escalation:{row['incident_id']}:{row['level']}:{channel}:{recipient['email']}"


def page(notifier: ServiceClient, channels: list[str], *, row: RowMapping, incident_id: UUID, message: str, links: PageLinker) -> None:
    """Page every recipient of the level on every channel, each page ending with that person's acknowledge
    and resolve links. Raises PeerUnavailable / peers.PeerRejected."""
    for recipient in row["recipients"]:
        who = Who(recipient["name"], recipient["email"], recipient.get("user_id"))
        text = message + links.text(incident_id, who)
        for channel in channels:
            key = page_key(row, channel, recipient)
            peers.page(notifier, incident_id=incident_id, channel=channel, recipient=recipient["email"], message=text, key=key)
