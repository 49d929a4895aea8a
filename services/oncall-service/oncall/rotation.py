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

Layers: a schedule is a stack of rotations (`Layer`), the first at the bottom. At any instant the
topmost layer that is on provides the primary, and its next member is the secondary (a one-person
layer's secondary is that person again). A layer with restrictions (`Window`s: weekdays and a local
time-of-day span in the layer's time zone, e.g. Mon–Fri 09:00–18:00) is off outside them, so the layer
below shows through; the bottom layer has no restrictions, so someone is always on call. A layer's
rotation keeps turning while it is off: restrictions hide turns, they do not delay them. Stretches are
cut wherever a layer above the providing one switches on or off. Overrides win over every layer.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo


class RotationType(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


PERIOD_DAYS = {RotationType.DAILY: 1, RotationType.WEEKLY: 7}
NEVER_BEFORE = datetime.min.replace(tzinfo=UTC)
NEVER_AFTER = datetime.max.replace(tzinfo=UTC)
# Restriction spans are laid out this many days either side of an instant: more than a week, so every
# weekday is seen on both sides of it.
SPAN_DAYS = 8


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
class Window:
    """On from `start` to `end` local time on each of `weekdays` (0 = Monday). An `end` not after `start`
    runs into the next day (22:00–06:00); `end == start` is 24 hours. Wall-clock times follow the same
    DST rule as handoffs (`local_start`)."""

    weekdays: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError("a window needs weekdays between 0 (Monday) and 6 (Sunday)")


@dataclass(frozen=True)
class Layer:
    """A rotation, on only inside its `windows` (always, without any)."""

    rotation: Rotation
    windows: tuple[Window, ...] = ()


Plan = Rotation | Sequence[Layer]
"""Who may be on call: one rotation (a single unrestricted layer), or layers from the bottom up."""


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


def same_person(a: Person, b: Person) -> bool:
    """By email (case-insensitive) when both have one, else by name."""
    return a.email.lower() == b.email.lower() if a.email and b.email else a.name == b.name


def _covering(overrides: Sequence[Override], at: datetime) -> Override | None:
    active = [o for o in overrides if o.start <= at < o.end]
    return max(active, key=lambda o: o.start) if active else None


def _layers(plan: Plan) -> Sequence[Layer]:
    layers = (Layer(plan),) if isinstance(plan, Rotation) else plan
    if not layers or layers[0].windows:
        raise ValueError("the bottom layer must exist and have no restrictions")
    return layers


@lru_cache(maxsize=256)
def _spans(layer: Layer, today: date) -> tuple[tuple[datetime, datetime], ...]:
    """The layer's on-spans from SPAN_DAYS days before local day `today` to SPAN_DAYS after, merged, in
    order. Cached: consecutive stretches of a listing ask for the same days."""
    zone = layer.rotation.timezone
    found = []
    for offset in range(-SPAN_DAYS, SPAN_DAYS + 1):
        day = today + timedelta(days=offset)
        for window in layer.windows:
            if day.weekday() in window.weekdays:
                end_day = day if window.end > window.start else day + timedelta(days=1)
                start, end = local_start(day, window.start, zone), local_start(end_day, window.end, zone)
                if start < end:  # a span inside a spring-forward gap is empty
                    found.append((start, end))
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def _state(layer: Layer, at: datetime) -> tuple[bool, datetime, datetime]:
    """Whether the layer is on at `at`, and since and until when that stays so."""
    if not layer.windows:
        return True, NEVER_BEFORE, NEVER_AFTER
    spans = _spans(layer, at.astimezone(layer.rotation.zone).date())
    for start, end in spans:
        if start <= at < end:
            # A span longer than a week is the whole week, every week: the layer never switches off.
            return (True, NEVER_BEFORE, NEVER_AFTER) if end - start >= timedelta(days=7) else (True, start, end)
    since = max((end for _, end in spans if end <= at), default=NEVER_BEFORE)
    until = min((start for start, _ in spans if start > at), default=NEVER_AFTER)
    return False, since, until


def on_call(plan: Plan, overrides: Sequence[Override], at: datetime) -> Shift:
    """Primary and secondary at instant `at`, with the boundaries of the stretch they hold."""
    at = at.astimezone(UTC)
    start, end = NEVER_BEFORE, NEVER_AFTER
    for layer in reversed(_layers(plan)):  # from the top: the first layer that is on provides
        active, since, until = _state(layer, at)
        start, end = max(start, since), min(end, until)
        if active:
            break
    rotation = layer.rotation
    k = shift_index(rotation, at)
    start, end = max(start, handoff(rotation, k)), min(end, handoff(rotation, k + 1))
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
    others = [person for person in order[1:] + order[:1] if not same_person(person, cover.person)]
    return Shift(start, end, cover.person, others[0] if others else order[0], overridden=True)


def shifts(plan: Plan, overrides: Sequence[Override], since: datetime, until: datetime, limit: int) -> list[Shift]:
    """Consecutive stretches from the one containing `since` up to `until`, at most `limit` of them."""
    result: list[Shift] = []
    at = since
    while at < until and len(result) < limit:
        shift = on_call(plan, overrides, at)
        result.append(shift)
        at = shift.end
    return result


def turn(stretches: Sequence[Shift], at: datetime) -> Shift | None:
    """The primary's turn at `at`, within consecutive `stretches` (from `shifts`): from the handoff to
    them (the last change of primary) to the next change, or the end of the stretches. None when `at` is
    outside them, or the primary did not change within them before `at`: no handoff to announce."""
    now = next((i for i, stretch in enumerate(stretches) if stretch.start <= at < stretch.end), None)
    if now is None:
        return None
    primary = stretches[now].primary
    first = last = now
    while first > 0 and same_person(stretches[first - 1].primary, primary):
        first -= 1
    if first == 0:
        return None
    while last + 1 < len(stretches) and same_person(stretches[last + 1].primary, primary):
        last += 1
    return Shift(stretches[first].start, stretches[last].end, primary, stretches[now].secondary, stretches[now].overridden)
