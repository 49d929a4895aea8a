"""Schedule layers: stored in `oncall.schedule_layers`, and a loaded schedule turned into the stack of
rotations `rotation.on_call` reads (the schedule's own rotation at the bottom, its layers on top).

Callers own the transaction; validation (known users, start instants) happens in `service`.
"""

from collections.abc import Sequence
from datetime import time
from typing import Any
from uuid import UUID

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from oncall import rotation
from oncall.identity.tables import users
from oncall.schemas import WEEKDAYS
from oncall.tables import layers


def load(session: Session, schedule_ids: Sequence[UUID]) -> dict[UUID, list[dict[str, Any]]]:
    """Each schedule's layers, bottom up; a member who is a user has that user's current name and email."""
    found: dict[UUID, list[dict[str, Any]]] = {schedule_id: [] for schedule_id in schedule_ids}
    rows = session.execute(select(layers).where(layers.c.schedule_id.in_(schedule_ids)).order_by(layers.c.schedule_id, layers.c.position))
    rows = rows.mappings().all()
    user_ids = {UUID(member["user_id"]) for row in rows for member in row["members"] if member.get("user_id")}
    named = session.execute(select(users.c.id, users.c.name, users.c.email).where(users.c.id.in_(user_ids))).mappings() if user_ids else ()
    current = {str(user["id"]): user for user in named}
    for row in rows:
        people = [{**member, **_contact(current.get(member.get("user_id") or ""))} for member in row["members"]]
        found[row["schedule_id"]].append({**row, "start": row["start_at"], "members": people})
    return found


def _contact(user: Any) -> dict[str, str]:
    return {"name": user["name"], "email": user["email"]} if user is not None else {}


def store(session: Session, *, schedule_id: UUID, rows: Sequence[dict[str, Any]]) -> None:
    """Replace the schedule's layers with `rows` (name, rotation_type, start_at, handoff_time, members,
    restrictions), in order."""
    session.execute(delete(layers).where(layers.c.schedule_id == schedule_id))
    if rows:
        session.execute(insert(layers), [{**row, "schedule_id": schedule_id, "position": position} for position, row in enumerate(rows)])


def parse_time(value: str) -> time:
    """'09:30' → time(9, 30)."""
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _rotation(fields: dict[str, Any], timezone: str) -> rotation.Rotation:
    return rotation.Rotation(
        rotation_type=rotation.RotationType(fields["rotation_type"]),
        start=fields["start_at"],
        handoff=parse_time(fields["handoff_time"]),
        timezone=timezone,
        members=tuple(rotation.Person(member["name"], member["email"]) for member in fields["members"]),
    )


def _windows(restrictions: Sequence[dict[str, Any]]) -> tuple[rotation.Window, ...]:
    return tuple(
        rotation.Window(frozenset(WEEKDAYS.index(day) for day in window["days"]), parse_time(window["start"]), parse_time(window["end"]))
        for window in restrictions
    )


def plan(schedule: dict[str, Any]) -> tuple[rotation.Layer, ...]:
    """A loaded schedule (with its `layers`) as layers for the rotation math, bottom up."""
    timezone = schedule["timezone"]
    on_top = [rotation.Layer(_rotation(layer, timezone), _windows(layer["restrictions"])) for layer in schedule.get("layers", ())]
    return (rotation.Layer(_rotation(schedule, timezone)), *on_top)
