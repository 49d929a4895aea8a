"""iCal feeds: their secrets (rotate, check) and their content. Callers own the transaction.

A feed's secret is 32 random bytes (`ipc_…`, platform_common.auth.credentials) carried in the feed URL
(`?token=`), shown once and stored only as its SHA-256 digest; rotating replaces the digest, so the old
URL stops working at once. A missing or wrong secret and an unknown team or user answer the same 404:
a feed's URL reveals nothing about what exists.

The events are the shifts API's stretches (`oncall.service.upcoming`, the one place that does rotation
math) from `PAST` before now to `AHEAD` after it. A user's feed holds the stretches in which they are
primary, in every schedule naming them (as a user, or by their email) or with an override for them.
"""

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Table, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from oncall import rotation, service
from oncall.ical import calendar
from oncall.ical.tables import schedule_feed_tokens, user_feed_tokens
from oncall.identity import users as users_service
from oncall.identity.secrets import check_may_manage
from oncall.identity.tables import users
from oncall.tables import layers, members, overrides, schedules
from platform_common.auth.credentials import digest, new_secret
from platform_common.auth.principal import Principal
from platform_common.errors import NotFound

PAST = timedelta(days=7)
AHEAD = timedelta(days=60)
MAX_STRETCHES = 2000  # per schedule and feed: a daily rotation has 68 in the window, overrides add two each


def _no_such_feed() -> NotFound:
    return NotFound("No such calendar feed")


def _store(session: Session, table: Table, *, owner: dict[str, UUID], now: datetime) -> str:
    secret = new_secret("calendar")
    values = {**owner, "secret_hash": digest(secret), "created_at": now}
    statement = pg_insert(table).values(**values)
    session.execute(
        statement.on_conflict_do_update(index_elements=list(owner), set_={"secret_hash": statement.excluded.secret_hash, "created_at": now})
    )
    return secret


def rotate_schedule_secret(session: Session, *, team: str, now: datetime) -> str:
    """A new secret for the team's feed (the previous one stops working). 404 for an unknown team."""
    schedule = service.get_or_raise(session, team=team)
    return _store(session, schedule_feed_tokens, owner={"schedule_id": schedule["id"]}, now=now)


def rotate_user_secret(session: Session, *, principal: Principal, user_id: UUID, now: datetime) -> str:
    """A new secret for the user's feed (the previous one stops working): the user themself or an admin.
    404 for an unknown user (users are listed to every viewer anyway), then 403 for anyone else."""
    users_service.get_or_raise(session, user_id=user_id)
    check_may_manage(principal, user_id)
    return _store(session, user_feed_tokens, owner={"user_id": user_id}, now=now)


def window(now: datetime) -> tuple[datetime, datetime]:
    return now - PAST, now + AHEAD


def schedule_feed(session: Session, *, team: str, secret: str | None, now: datetime) -> bytes:
    found = session.execute(
        select(schedules.c.id)
        .join(schedule_feed_tokens, schedule_feed_tokens.c.schedule_id == schedules.c.id)
        .where(schedules.c.team == team, schedule_feed_tokens.c.secret_hash == digest(secret or ""))
    ).first()
    if not secret or found is None:
        raise _no_such_feed()
    since, until = window(now)
    return calendar.team_calendar(team, service.upcoming(session, team=team, since=since, until=until, limit=MAX_STRETCHES), now=now)


def _teams_of(session: Session, *, user_id: UUID, email: str, since: datetime, until: datetime) -> list[str]:
    """Teams whose schedule names the user (by id or email, in its base rotation or a layer) or has an
    override for them in the window."""
    as_member = select(members.c.schedule_id).where(or_(members.c.user_id == user_id, func.lower(members.c.email) == email))
    in_layer = select(layers.c.schedule_id).where(
        text("EXISTS (SELECT 1 FROM jsonb_array_elements(members) m WHERE m->>'user_id' = :uid OR lower(m->>'email') = :email)").bindparams(
            uid=str(user_id), email=email
        )
    )
    as_override = select(overrides.c.schedule_id).where(
        func.lower(overrides.c.email) == email, overrides.c.start_at < until, overrides.c.end_at > since
    )
    query = select(schedules.c.team).where(
        or_(schedules.c.id.in_(as_member), schedules.c.id.in_(in_layer), schedules.c.id.in_(as_override))
    )
    return list(session.execute(query.order_by(schedules.c.team).limit(service.MAX_SCHEDULES)).scalars())


def user_feed(session: Session, *, user_id: UUID, secret: str | None, now: datetime) -> bytes:
    user = session.execute(
        select(users.c.name, users.c.email)
        .join(user_feed_tokens, user_feed_tokens.c.user_id == users.c.id)
        .where(users.c.id == user_id, user_feed_tokens.c.secret_hash == digest(secret or ""))
    ).first()
    if not secret or user is None:
        raise _no_such_feed()
    email = user.email.lower()
    since, until = window(now)
    mine: list[tuple[str, rotation.Shift]] = [
        (team, shift)
        for team in _teams_of(session, user_id=user_id, email=email, since=since, until=until)
        for shift in service.upcoming(session, team=team, since=since, until=until, limit=MAX_STRETCHES)
        if shift.primary.email.lower() == email
    ]
    mine.sort(key=lambda pair: (pair[1].start, pair[0]))
    return calendar.user_calendar(user.name, mine, now=now)
