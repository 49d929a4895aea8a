"""Who is on call when: pure time math, no I/O, the instant always passed in.

A rotation hands over at a local wall-clock time (`handoff`, e.g. 09:00) in an IANA time zone, every
day (`daily`) or every seven days (`weekly`). Handoff k is at `handoff` local time on
`anchor + k * period` days, converted to UTC; it stays at 09:00 local across DST changes, so a shift
that spans a change is 23 or 25 hours long. The anchor is the local day of the rotation's `start` (the
day before when `start` is earlier than the handoff), so the shift containing `start` is member 0's.
The rotation repeats forever in both directions.

Primary = the member whose turn it is; secondary = the next member. An override puts someone else in
the primary's place for a window (which may cross handoffs); the secondary stays the scheduled one,
unless that is the overriding person, then it is the next member who is not.

A handoff that falls in a spring-forward gap happens at the first valid instant after it (02:30 on a
day without 02:30 is 03:30 summer time); in a fall-back fold it happens at the first occurrence.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class RotationType(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


PERIOD_DAYS = {RotationType.DAILY: 1, RotationType.WEEKLY: 7}


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True)
class Override:
    """`person` is primary during [start, end)."""

    person: Person
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Rotation:
    rotation_type: RotationType
    start: datetime
    handoff: time
    timezone: str
    members: tuple[Person, ...]

    def __post_init__(self) -> None:
        if not self.members:
            raise ValueError("a rotation needs at least one member")
        if self.start.tzinfo is None:
            raise ValueError("the rotation start must be timezone-aware")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def period_days(self) -> int:
        return PERIOD_DAYS[RotationType(self.rotation_type)]


@dataclass(frozen=True)
class Shift:
    """A stretch of time in which primary and secondary do not change."""

    start: datetime
    end: datetime
    primary: Person
    secondary: Person
    overridden: bool = False


def local_start(day: date, at: time, timezone: str) -> datetime:
    """The UTC instant of wall-clock `at` on `day` in `timezone`. Fold 0 gives the rule above: a gap time
    keeps the offset from before the change (02:30 → 03:30 summer time), a fold time is the first.
    Everything here compares UTC instants: same-zone comparisons of aware datetimes ignore DST folds."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def _anchor(rotation: Rotation) -> date:
    day = rotation.start.astimezone(rotation.zone).date()
    if rotation.start < local_start(day, rotation.handoff, rotation.timezone):
        day -= timedelta(days=1)
    return day


def handoff(rotation: Rotation, k: int) -> datetime:
    """The instant (UTC) of handoff number k; handoff 0 begins member 0's first shift."""
    day = _anchor(rotation) + timedelta(days=k * rotation.period_days)
    return local_start(day, rotation.handoff, rotation.timezone)


def shift_index(rotation: Rotation, at: datetime) -> int:
    """The k such that handoff(k) <= at < handoff(k + 1)."""
    days = (at.astimezone(rotation.zone).date() - _anchor(rotation)).days
    k = days // rotation.period_days
    while handoff(rotation, k) > at:
        k -= 1
    while handoff(rotation, k + 1) <= at:
        k += 1
    return k


def _scheduled(rotation: Rotation, k: int) -> tuple[Person, ...]:
    """Members in the order they are on call from shift k on: [primary, secondary, ...]."""
    n = len(rotation.members)
    return tuple(rotation.members[(k + i) % n] for i in range(n))


def _same(a: Person, b: Person) -> bool:
    return a.email.lower() == b.email.lower() if a.email and b.email else a.name == b.name


def _covering(overrides: Sequence[Override], at: datetime) -> Override | None:
    active = [o for o in overrides if o.start <= at < o.end]
    return max(active, key=lambda o: o.start) if active else None


def on_call(rotation: Rotation, overrides: Sequence[Override], at: datetime) -> Shift:
    """Primary and secondary at instant `at`, with the boundaries of the stretch they hold."""
    at = at.astimezone(UTC)
    k = shift_index(rotation, at)
    start, end = handoff(rotation, k), handoff(rotation, k + 1)
    order = _scheduled(rotation, k)
    for override in overrides:  # overrides cut the stretch where they begin or end
        for edge in (override.start, override.end):
            if start < edge <= at:
                start = edge
            elif at < edge < end:
                end = edge
    cover = _covering(overrides, at)
    if cover is None:
        secondary = order[1] if len(order) > 1 else order[0]
        return Shift(start, end, order[0], secondary)
    others = [person for person in order[1:] + order[:1] if not _same(person, cover.person)]
    return Shift(start, end, cover.person, others[0] if others else order[0], overridden=True)


def shifts(rotation: Rotation, overrides: Sequence[Override], since: datetime, until: datetime, limit: int) -> list[Shift]:
    """Consecutive stretches from the one containing `since` up to `until`, at most `limit` of them."""
    result: list[Shift] = []
    at = since
    while at < until and len(result) < limit:
        shift = on_call(rotation, overrides, at)
        result.append(shift)
        at = shift.end
    return result
