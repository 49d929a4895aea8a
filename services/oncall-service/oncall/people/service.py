"""Contact methods, notification rules and delivery plans: keyword-only functions over the people
tables. Callers own the transaction: these functions never commit.

A person's delivery plan is what paging them means: one notification per notification rule (its
contact method, `delay_minutes` after the page starts); a user with contact methods and no rules is
notified on all of them at once; someone who is not a user, or a user without contact methods, has an
empty plan, and is paged on `PAGE_CHANNELS` at their email address as before.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from oncall.identity import users as users_service
from oncall.identity.tables import users
from oncall.people.schemas import ContactMethodCreate, NotificationRuleCreate
from oncall.people.tables import contact_methods, notification_rules
from platform_common.errors import Conflict, InvalidInput, NotFound

MAX_CONTACT_METHODS = 20
MAX_RULES = 50


def _count(session: Session, table, user_id: UUID) -> int:
    return session.execute(select(func.count()).select_from(table).where(table.c.user_id == user_id)).scalar_one()


def get_contact_method(session: Session, *, user_id: UUID, contact_method_id: UUID) -> RowMapping:
    row = (
        session.execute(select(contact_methods).where(contact_methods.c.id == contact_method_id, contact_methods.c.user_id == user_id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"Contact method {contact_method_id} of user {user_id} not found")
    return row


def list_contact_methods(session: Session, *, user_id: UUID) -> list[RowMapping]:
    users_service.get_or_raise(session, user_id=user_id)
    query = select(contact_methods).where(contact_methods.c.user_id == user_id).order_by(contact_methods.c.created_at, contact_methods.c.id)
    return list(session.execute(query).mappings())


def create_contact_method(session: Session, *, user_id: UUID, data: ContactMethodCreate, now: datetime) -> RowMapping:
    users_service.get_or_raise(session, user_id=user_id)
    if _count(session, contact_methods, user_id) >= MAX_CONTACT_METHODS:
        raise Conflict(f"A user has at most {MAX_CONTACT_METHODS} contact methods; delete one first")
    values = {"user_id": user_id, "type": data.type, "address": data.address, "created_at": now}
    try:
        with session.begin_nested():
            return session.execute(insert(contact_methods).values(**values).returning(contact_methods)).mappings().one()
    except IntegrityError:
        raise Conflict(f"The user already has this {data.type} contact method") from None


def delete_contact_method(session: Session, *, user_id: UUID, contact_method_id: UUID) -> None:
    """Its notification rules go with it."""
    deleted = session.execute(
        delete(contact_methods).where(contact_methods.c.id == contact_method_id, contact_methods.c.user_id == user_id)
    ).rowcount
    if not deleted:
        raise NotFound(f"Contact method {contact_method_id} of user {user_id} not found")


def list_rules(session: Session, *, user_id: UUID) -> list[RowMapping]:
    users_service.get_or_raise(session, user_id=user_id)
    query = (
        select(notification_rules)
        .where(notification_rules.c.user_id == user_id)
        .order_by(notification_rules.c.delay_minutes, notification_rules.c.created_at, notification_rules.c.id)
    )
    return list(session.execute(query).mappings())


def create_rule(session: Session, *, user_id: UUID, data: NotificationRuleCreate, now: datetime) -> RowMapping:
    users_service.get_or_raise(session, user_id=user_id)
    try:
        get_contact_method(session, user_id=user_id, contact_method_id=data.contact_method_id)
    except NotFound:
        detail = {"field": "contact_method_id", "message": "not one of this user's contact methods", "type": "value_error"}
        raise InvalidInput("Unknown contact method", details=[detail]) from None
    if _count(session, notification_rules, user_id) >= MAX_RULES:
        raise Conflict(f"A user has at most {MAX_RULES} notification rules; delete one first")
    values = {"user_id": user_id, **data.model_dump(), "created_at": now}
    try:
        with session.begin_nested():
            return session.execute(insert(notification_rules).values(**values).returning(notification_rules)).mappings().one()
    except IntegrityError:
        raise Conflict("The user already has this rule (same contact method, same delay)") from None


def delete_rule(session: Session, *, user_id: UUID, rule_id: UUID) -> None:
    deleted = session.execute(
        delete(notification_rules).where(notification_rules.c.id == rule_id, notification_rules.c.user_id == user_id)
    ).rowcount
    if not deleted:
        raise NotFound(f"Notification rule {rule_id} of user {user_id} not found")


def _email_key(email: str) -> str:
    return email.strip().lower()  # how users are matched by email: case-insensitive, like sign-in


def users_by_email(session: Session, *, emails: Sequence[str]) -> dict[str, RowMapping]:
    """The platform users with these emails (case-insensitive), by lower-cased email: one statement."""
    key = func.lower(users.c.email)
    rows = session.execute(select(users, key.label("email_key")).where(key.in_({_email_key(email) for email in emails}))).all()
    return {row.email_key: row._mapping for row in rows}  # keyed as the database matched them


def find_user(session: Session, *, user_id: UUID | str | None = None, email: str | None = None) -> RowMapping | None:
    """The platform user with this id, else with this email (case-insensitive); None if neither is one."""
    if user_id is not None:
        try:
            row = session.execute(select(users).where(users.c.id == UUID(str(user_id)))).mappings().first()
        except ValueError:
            row = None
        if row is not None:
            return row
    return users_by_email(session, emails=[email]).get(_email_key(email)) if email else None


def plans(session: Session, *, user_ids: Sequence[UUID]) -> dict[UUID, list[dict[str, Any]]]:
    """Each user's delivery plan: [{contact_method_id, channel, recipient, delay_minutes}] by delay.
    Two statements, whatever the number of users (none for no users)."""
    if not user_ids:
        return {}
    methods: dict[UUID, dict[UUID, RowMapping]] = {user_id: {} for user_id in user_ids}
    method_rows = session.execute(
        select(contact_methods)
        .where(contact_methods.c.user_id.in_(user_ids))
        .order_by(contact_methods.c.user_id, contact_methods.c.created_at, contact_methods.c.id)
    ).mappings()
    for row in method_rows:
        methods[row["user_id"]][row["id"]] = row
    rules: dict[UUID, list[tuple[UUID, int]]] = {user_id: [] for user_id in user_ids}
    rule_rows = session.execute(
        select(notification_rules)
        .where(notification_rules.c.user_id.in_(user_ids))
        .order_by(
            notification_rules.c.user_id, notification_rules.c.delay_minutes, notification_rules.c.created_at, notification_rules.c.id
        )
    ).mappings()
    for row in rule_rows:
        rules[row["user_id"]].append((row["contact_method_id"], row["delay_minutes"]))
    return {user_id: _steps(methods[user_id], rules[user_id]) for user_id in user_ids}


def _steps(methods: dict[UUID, RowMapping], rules: list[tuple[UUID, int]]) -> list[dict[str, Any]]:
    steps = rules or [(method_id, 0) for method_id in methods]
    return [
        {
            "contact_method_id": method_id,
            "channel": methods[method_id]["type"],
            "recipient": methods[method_id]["address"],
            "delay_minutes": delay,
        }
        for method_id, delay in steps
    ]


def _planned(user: RowMapping | None, by_user: dict[UUID, list[dict[str, Any]]]) -> dict[str, Any]:
    if user is None:
        return {"user_id": None, "name": None, "plan": []}
    return {"user_id": user["id"], "name": user["name"], "plan": by_user[user["id"]]}


def delivery_plan(session: Session, *, user_id: UUID | str | None = None, email: str | None = None) -> dict[str, Any]:
    """Who is paged (a user found by id or email, or nobody known) and how: see the module docstring."""
    user = find_user(session, user_id=user_id, email=email)
    return _planned(user, plans(session, user_ids=[user["id"]] if user is not None else []))


def delivery_plans(session: Session, *, emails: Sequence[str]) -> list[dict[str, Any]]:
    """`delivery_plan` for each email, in the order given (with the email as given): at most three
    statements whatever the number of emails."""
    found = users_by_email(session, emails=emails)
    asked = [found.get(_email_key(email)) for email in emails]
    by_user = plans(session, user_ids=list({user["id"] for user in asked if user is not None}))
    return [{"email": email, **_planned(user, by_user)} for email, user in zip(emails, asked, strict=True)]
