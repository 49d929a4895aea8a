"""Schedules and overrides: keyword-only functions over the `oncall` tables, and who is on call.

Callers own the transaction: these functions never commit. The time math itself is in `rotation`, a
schedule's layers are stored by `layers`.
"""

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import RowMapping, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from oncall import layers, rotation
from oncall.identity.tables import users
from oncall.schemas import LayerIn, MemberIn, OverrideCreate, ScheduleCreate, ScheduleFields
from oncall.tables import escalations, members, overrides, schedules
from platform_common.errors import Conflict, InvalidInput, NotFound
from platform_common.pagination import Page, count_total

MAX_SCHEDULES = 1000  # the on-call overview and the metrics read every schedule at once
# Overrides this far around an instant can cut the stretch containing it (a weekly shift, plus DST).
OVERRIDE_MARGIN = timedelta(days=8)


def invalid(field: str, message: str) -> InvalidInput:
    """A 422 about one field, in the platform's field-level error shape."""
    return InvalidInput(f"Invalid {field}: {message}", details=[{"field": field, "message": message, "type": "value_error"}])


def resolve_start(value: datetime | date | None, *, handoff_time: str, timezone: str, now: datetime) -> datetime:
    """The rotation start as a UTC instant: a date means its handoff time, a naive datetime is local."""
    if value is None:
        return now.astimezone(UTC)
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo(timezone))
        return aware.astimezone(UTC)
    return rotation.local_start(value, layers.parse_time(handoff_time), timezone)


def _members(session: Session, schedule_ids: Sequence[UUID]) -> dict[UUID, list[dict[str, Any]]]:
    found: dict[UUID, list[dict[str, Any]]] = {schedule_id: [] for schedule_id in schedule_ids}
    rows = session.execute(
        select(members, users.c.name.label("user_name"), users.c.email.label("user_email"))
        .outerjoin(users, users.c.id == members.c.user_id)
        .where(members.c.schedule_id.in_(schedule_ids))
        .order_by(members.c.schedule_id, members.c.position)
    ).mappings()
    for row in rows:
        name, email = (row["user_name"], row["user_email"]) if row["user_name"] is not None else (row["name"], row["email"])
        found[row["schedule_id"]].append({"name": name, "email": email, "role": row["role"], "user_id": row["user_id"]})
    return found


def _with_members(session: Session, rows: Sequence[RowMapping]) -> list[dict[str, Any]]:
    ids = [row["id"] for row in rows]
    by_schedule, layers_of = _members(session, ids), layers.load(session, ids)
    return [{**row, "start": row["start_at"], "members": by_schedule[row["id"]], "layers": layers_of[row["id"]]} for row in rows]


def _known_users(session: Session, people: Iterable[MemberIn], *, field: str) -> dict[UUID, RowMapping]:
    """The users the members name, by id; an unknown id is a 422 on `field`."""
    user_ids = {person.user_id for person in people if person.user_id is not None}
    if not user_ids:
        return {}
    known = {
        row["id"]: row
        for row in session.execute(select(users.c.id, users.c.name, users.c.email).where(users.c.id.in_(user_ids))).mappings()
    }
    if unknown := sorted(str(user_id) for user_id in user_ids - known.keys()):
        raise invalid(field, f"unknown user ids: {', '.join(unknown)}")
    return known


def _member_fields(person: MemberIn, known: dict[UUID, RowMapping]) -> dict[str, Any]:
    # A user's name and email are also kept on the member: they stay if the user is deleted.
    return {
        "name": known[person.user_id]["name"] if person.user_id else person.name,
        "email": known[person.user_id]["email"] if person.user_id else person.email,
        "user_id": person.user_id,
        "role": person.role,
    }


def _replace_members(session: Session, *, schedule_id: UUID, people: Iterable[MemberIn]) -> None:
    people = list(people)
    known = _known_users(session, people, field="members")
    session.execute(delete(members).where(members.c.schedule_id == schedule_id))
    session.execute(
        insert(members),
        [{"schedule_id": schedule_id, "position": position, **_member_fields(person, known)} for position, person in enumerate(people)],
    )


def _replace_layers(session: Session, *, schedule_id: UUID, given: Sequence[LayerIn], timezone: str, now: datetime) -> None:
    """Store the layers; one given without `start` keeps the start of the current layer of that name."""
    if len({layer.name for layer in given}) != len(given):
        raise invalid("layers", "layer names must be unique within a schedule")
    known = _known_users(session, [person for layer in given for person in layer.members], field="layers")
    kept = {layer["name"]: layer["start_at"] for layer in layers.load(session, [schedule_id])[schedule_id]}
    rows = [
        {
            "name": layer.name,
            "rotation_type": layer.rotation_type,
            "start_at": kept[layer.name]
            if layer.start is None and layer.name in kept
            else resolve_start(layer.start, handoff_time=layer.handoff_time, timezone=timezone, now=now),
            "handoff_time": layer.handoff_time,
            "members": [{**_member_fields(person, known), "user_id": person.user_id and str(person.user_id)} for person in layer.members],
            "restrictions": [restriction.model_dump() for restriction in layer.restrictions],
        }
        for layer in given
    ]
    layers.store(session, schedule_id=schedule_id, rows=rows)


def get_or_raise(session: Session, *, team: str, lock: bool = False) -> dict[str, Any]:
    query = select(schedules).where(schedules.c.team == team)
    if lock:
        query = query.with_for_update()
    row = session.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"No on-call schedule for team '{team}'")
    return _with_members(session, [row])[0]


def find(session: Session, *, team: str) -> dict[str, Any] | None:
    try:
        return get_or_raise(session, team=team)
    except NotFound:
        return None


def list_(session: Session, *, page: Page) -> tuple[list[dict[str, Any]], int]:
    total = count_total(session, select(schedules), page)
    rows = session.execute(select(schedules).order_by(schedules.c.team).limit(page.limit).offset(page.offset)).mappings().all()
    return _with_members(session, rows), total


def create(session: Session, *, data: ScheduleCreate, now: datetime) -> dict[str, Any]:
    start = resolve_start(data.start, handoff_time=data.handoff_time, timezone=data.timezone, now=now)
    schedule_id = session.execute(
        pg_insert(schedules)
        .values(
            team=data.team,
            rotation_type=data.rotation_type,
            start_at=start,
            handoff_time=data.handoff_time,
            timezone=data.timezone,
            escalation_minutes=data.escalation_minutes,
            escalation_levels=[level.model_dump() for level in data.escalation_levels],
            handoff_notifications=data.handoff_notifications,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[schedules.c.team])
        .returning(schedules.c.id)
    ).scalar_one_or_none()
    if schedule_id is None:
        raise Conflict(f"Team '{data.team}' already has a schedule; use PUT or PATCH /api/v1/schedules/{data.team}")
    _replace_members(session, schedule_id=schedule_id, people=data.members)
    _replace_layers(session, schedule_id=schedule_id, given=data.layers, timezone=data.timezone, now=now)
    return get_or_raise(session, team=data.team)


def update_(session: Session, *, team: str, change: ScheduleFields, now: datetime) -> dict[str, Any]:
    """Apply the fields set in `change` (null = unchanged). Without a new `start` the rotation keeps its start instant."""
    current = get_or_raise(session, team=team, lock=True)
    given = change.model_dump(exclude_unset=True, exclude={"team", "members", "start", "layers"})
    fields = {k: v for k, v in given.items() if v is not None}
    if change.escalation_levels is not None:
        fields["escalation_levels"] = [level.model_dump() for level in change.escalation_levels]
    if "start" in change.model_fields_set:
        fields["start_at"] = resolve_start(
            change.start,
            handoff_time=fields.get("handoff_time", current["handoff_time"]),
            timezone=fields.get("timezone", current["timezone"]),
            now=now,
        )
    session.execute(update(schedules).where(schedules.c.id == current["id"]).values(**fields, updated_at=now))
    if change.members is not None:
        _replace_members(session, schedule_id=current["id"], people=change.members)
    if change.layers is not None:
        timezone = fields.get("timezone", current["timezone"])
        _replace_layers(session, schedule_id=current["id"], given=change.layers, timezone=timezone, now=now)
    return get_or_raise(session, team=team)


def delete_(session: Session, *, team: str) -> None:
    if session.execute(delete(schedules).where(schedules.c.team == team).returning(schedules.c.id)).first() is None:
        raise NotFound(f"No on-call schedule for team '{team}'")


def add_override(session: Session, *, team: str, data: OverrideCreate, now: datetime) -> dict[str, Any]:
    """Someone covers the primary's place for [start, end). Overlapping overrides are refused (409)."""
    schedule = get_or_raise(session, team=team, lock=True)  # serialises overlap checks per team
    overlapping = session.execute(
        select(overrides.c.id)
        .where(
            overrides.c.schedule_id == schedule["id"],
            overrides.c.start_at < data.end,
            overrides.c.end_at > data.start,
        )
        .limit(1)
    ).first()
    if overlapping is not None:
        raise Conflict(f"The window overlaps override {overlapping[0]}; delete it first")
    row = (
        session.execute(
            insert(overrides)
            .values(schedule_id=schedule["id"], name=data.name, email=data.email, start_at=data.start, end_at=data.end, created_at=now)
            .returning(overrides)
        )
        .mappings()
        .one()
    )
    return _override_out(row, team)


def _override_out(row: RowMapping, team: str) -> dict[str, Any]:
    return {**row, "team": team, "start": row["start_at"], "end": row["end_at"]}


def list_overrides(session: Session, *, team: str, since: datetime | None, page: Page) -> tuple[list[dict[str, Any]], int]:
    """The team's overrides by start time; with `since`, only those still running or to come."""
    schedule = get_or_raise(session, team=team)
    filters = [overrides.c.schedule_id == schedule["id"]]
    if since is not None:
        filters.append(overrides.c.end_at > since)
    total = count_total(session, select(overrides).where(*filters), page)
    rows = (
        session.execute(select(overrides).where(*filters).order_by(overrides.c.start_at).limit(page.limit).offset(page.offset))
        .mappings()
        .all()
    )
    return [_override_out(row, team) for row in rows], total


def delete_override(session: Session, *, team: str, override_id: UUID) -> None:
    schedule = get_or_raise(session, team=team)
    deleted = session.execute(
        delete(overrides).where(overrides.c.id == override_id, overrides.c.schedule_id == schedule["id"]).returning(overrides.c.id)
    ).first()
    if deleted is None:
        raise NotFound(f"Override {override_id} not found for team '{team}'")


def _overrides_between(
    session: Session, *, schedule_ids: Sequence[UUID], since: datetime, until: datetime
) -> dict[UUID, list[rotation.Override]]:
    found: dict[UUID, list[rotation.Override]] = {schedule_id: [] for schedule_id in schedule_ids}
    rows = session.execute(
        select(overrides).where(overrides.c.schedule_id.in_(schedule_ids), overrides.c.start_at <= until, overrides.c.end_at > since)
    ).mappings()
    for row in rows:
        found[row["schedule_id"]].append(rotation.Override(rotation.Person(row["name"], row["email"]), row["start_at"], row["end_at"]))
    return found


def _on_call_now(session: Session, loaded: Sequence[dict[str, Any]], *, now: datetime) -> list[rotation.Shift]:
    """Who is on call at `now` for each already loaded schedule: one statement for all their overrides."""
    ids = [schedule["id"] for schedule in loaded]
    window = _overrides_between(session, schedule_ids=ids, since=now - OVERRIDE_MARGIN, until=now + OVERRIDE_MARGIN)
    return [rotation.on_call(layers.plan(schedule), window[schedule["id"]], now) for schedule in loaded]


def current_of(session: Session, schedule: dict[str, Any], *, now: datetime) -> rotation.Shift:
    """Who is on call for an already loaded schedule at `now`."""
    return _on_call_now(session, [schedule], now=now)[0]


def current(session: Session, *, team: str, now: datetime) -> rotation.Shift:
    return current_of(session, get_or_raise(session, team=team), now=now)


def all_current(session: Session, *, now: datetime, teams: Sequence[str] | None = None) -> list[tuple[str, rotation.Shift]]:
    """(team, who is on call) for every team, or for those of `teams` that have a schedule, by team name.

    A constant number of statements whatever the number of teams."""
    query = select(schedules).order_by(schedules.c.team)
    query = query.limit(MAX_SCHEDULES) if teams is None else query.where(schedules.c.team.in_(teams))
    loaded = _with_members(session, session.execute(query).mappings().all())
    return [(schedule["team"], shift) for schedule, shift in zip(loaded, _on_call_now(session, loaded, now=now), strict=True)]


def upcoming(session: Session, *, team: str, since: datetime, until: datetime, limit: int) -> list[rotation.Shift]:
    if until <= since:
        raise invalid("until", "must be after 'from'")
    schedule = get_or_raise(session, team=team)
    window = _overrides_between(session, schedule_ids=[schedule["id"]], since=since - OVERRIDE_MARGIN, until=until)
    return rotation.shifts(layers.plan(schedule), window[schedule["id"]], since, until, limit)


def list_escalations(session: Session, *, incident_id: UUID | None, team: str | None, page: Page) -> tuple[list[RowMapping], int]:
    filters = []
    if incident_id is not None:
        filters.append(escalations.c.incident_id == incident_id)
    if team is not None:
        filters.append(escalations.c.team == team)
    total = count_total(session, select(escalations).where(*filters), page)
    rows = (
        session.execute(
            select(escalations)
            .where(*filters)
            .order_by(escalations.c.created_at.desc(), escalations.c.level.desc())
            .limit(page.limit)
            .offset(page.offset)
        )
        .mappings()
        .all()
    )
    return list(rows), total
