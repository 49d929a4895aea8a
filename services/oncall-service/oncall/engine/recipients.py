"""Who an escalation level pages, and how: the one place both are decided.

`resolve` runs when a level is claimed (inside the claim's transaction, database only) and turns the
frozen level into people: a schedule's frozen person; a policy step's targets (a user; a team's on-call
primary at that moment; every member of an identity team); or, for the exhaustion level, the team's
admins (the admins among the identity team named like the incident's team, else every admin). The
people are stored on the `escalations` row, so a retried delivery pages the same ones.

A person who is a platform user (by `user_id`, else matched by email) with contact methods is paged on
those, per their notification rules (`oncall.people`): their delivery plan is frozen with them on the
row too. Everyone else is paged on every `PAGE_CHANNELS` channel at their email address.

`page` runs at delivery (peers only, no database): each recipient on their plan's contact methods (a
delayed rule as a notification not sent before the level's claim time + its delay) or on every page
channel, each page with its own idempotency key (per incident, level and contact method or channel).
"""

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, select
from sqlalchemy.orm import Session

from oncall import peers, service
from oncall.identity.tables import team_members, teams, users
from oncall.people import service as people
from platform_common.http import ServiceClient
from platform_common.pagelinks import PageLinker, Who
from platform_common.recipients import destinations


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str
    user_id: str | None = None
    plan: tuple[dict[str, Any], ...] = ()  # a platform user's contact methods per their rules (oncall.people)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "plan": list(self.plan)}


def public(people_paged: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored recipients as the incident timeline may show them: how each was reached, never the
    addresses of their contact methods (webhook and Apprise URLs carry secrets)."""
    shown = []
    for person in people_paged:
        entry = {"name": person["name"], "email": person["email"], "user_id": person.get("user_id")}
        if plan := person.get("plan"):
            entry["via"] = [f"{step['channel']} after {step['delay_minutes']} min" for step in plan]
        shown.append(entry)
    return shown


def _with_plan(session: Session, person: Recipient) -> Recipient:
    """A platform user (by id, else by email) is paged on their contact methods per their rules."""
    found = people.delivery_plan(session, user_id=person.user_id, email=person.email)
    if found["user_id"] is None:
        return person
    plan = tuple({**step, "contact_method_id": str(step["contact_method_id"])} for step in found["plan"])
    return replace(person, user_id=str(found["user_id"]), plan=plan)


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
    """Everyone a frozen level pages, once each (by email), in target order, with their delivery plans."""
    if level.get("exhausted"):
        found = admins_of(session, team)
    elif "targets" in level:
        found = [person for target in level["targets"] for person in _target(session, target, now=now)]
    else:  # a schedule's level: the person frozen with it
        found = [Recipient(level["name"], level["email"])]
    unique: dict[str, Recipient] = {}
    for person in found:
        unique.setdefault(person.email.lower(), person)
    return [_with_plan(session, person) for person in unique.values()]


def page_key(row: RowMapping, channel: str, recipient: dict[str, Any]) -> str:
    return f"escalation:{row['incident_id']}:{row['level']}:{channel}:{recipient['email']}"


def page(notifier: ServiceClient, channels: list[str], *, row: RowMapping, incident_id: UUID, message: str, links: PageLinker) -> None:
    """Page every recipient of the level on their contact methods (or every page channel), each page
    ending with that person's acknowledge and resolve links.

    A destination notification-service refuses (an address it no longer accepts) does not stop the
    others; a person none of whose contact methods is accepted is paged on every page channel at their
    email instead. Raises PeerUnavailable (retry later: the keys make it idempotent), and PeerRejected
    only when nobody could be paged at all."""
    refused: list[str] = []
    paged = 0
    for recipient in row["recipients"]:
        who = Who(recipient["name"], recipient["email"], recipient.get("user_id"))
        text = message + links.text(incident_id, who)
        plan = destinations(recipient.get("plan"), channels=channels, address=recipient["email"])
        accepted = _page_each(notifier, plan, row=row, recipient=recipient, incident_id=incident_id, text=text, refused=refused)
        if not accepted and recipient.get("plan"):
            fallback = destinations(None, channels=channels, address=recipient["email"])
            accepted = _page_each(notifier, fallback, row=row, recipient=recipient, incident_id=incident_id, text=text, refused=refused)
        paged += accepted
    if not paged and refused:
        raise peers.PeerRejected("; ".join(refused))


def _page_each(notifier: ServiceClient, plan, *, row: RowMapping, recipient: dict, incident_id: UUID, text: str, refused: list[str]) -> int:
    """Send each destination; returns how many notification-service accepted (refusals are noted)."""
    accepted = 0
    for to in plan:
        try:
            peers.page(
                notifier,
                incident_id=incident_id,
                channel=to.channel,
                recipient=to.recipient,
                message=text,
                key=page_key(row, to.key, recipient),
                not_before=to.not_before(row.get("created_at")),
            )
        except peers.PeerRejected as exc:
            refused.append(f"{to.channel} for {recipient['name']}: {exc}")
            continue
        accepted += 1
    return accepted
