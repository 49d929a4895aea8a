"""Which handoffs are due to be announced, claimed once per (team, turn start). Callers own the transaction.

A schedule with `handoff_notifications` announces each turn of its primary (rotation handoff, layer
boundary, override start or end): the turn is the merged stretches with the same primary around now
(`rotation.turn` over the shifts API's stretches, so layers and overrides count). A turn is announced
if it began at most `LOOKBACK` ago: after an outage of oncall-service the handoffs it slept through are
announced when it is back, but a turn that began long ago (notifications switched on mid-turn) is not.
"""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from oncall import rotation, service
from oncall.handoffs.tables import notices
from oncall.tables import schedules

LOOKBACK = timedelta(hours=6)
AHEAD = timedelta(days=35)  # how far the end of a turn is looked for
MAX_STRETCHES = 500


def claim(session: Session, *, now: datetime) -> int:
    """Insert a pending notice for each announcing schedule's current turn, unless one exists (ON CONFLICT
    DO NOTHING: replicas racing insert one row). Returns how many this call inserted."""
    teams = session.execute(
        select(schedules.c.team).where(schedules.c.handoff_notifications).order_by(schedules.c.team).limit(service.MAX_SCHEDULES)
    ).scalars()
    inserted = 0
    for team in teams.all():
        schedule = service.get_or_raise(session, team=team)
        stretches = service.upcoming(session, team=team, since=now - LOOKBACK, until=now + AHEAD, limit=MAX_STRETCHES)
        found = rotation.turn(stretches, now)
        if found is None:
            continue
        statement = (
            pg_insert(notices)
            .values(
                team=team,
                shift_start=found.start,
                shift_end=found.end,
                name=found.primary.name,
                email=found.primary.email,
                timezone=schedule["timezone"],
                status="pending",
                next_attempt_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[notices.c.team, notices.c.shift_start])
            .returning(notices.c.id)
        )
        inserted += session.execute(statement).first() is not None
    return inserted
