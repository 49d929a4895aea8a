"""Maintenance-window time math, pure: when a one-off or weekly recurring window is active.

A weekly window starts on each listed weekday at a local wall-clock time in its IANA time zone and lasts
`duration` of real time (so across a DST change it still lasts exactly that long). A start time that
does not exist that day (the spring-forward gap) is read as the offset before the change, as
`zoneinfo` does (fold=0). A window may run past midnight and into the next listed day.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DURATION = timedelta(days=7)


def weekly_starts(weekdays: Iterable[int], start: time, tz: ZoneInfo, around: datetime, days_back: int) -> list[datetime]:
    """Start instants (UTC) of a weekly window on the local days from `days_back` days before `around`'s
    local date up to that date."""
    today: date = around.astimezone(tz).date()
    wanted = set(weekdays)
    starts = []
    for back in range(days_back, -1, -1):
        day = today - timedelta(days=back)
        if day.weekday() in wanted:
            starts.append(datetime.combine(day, start, tzinfo=tz).astimezone(UTC))
    return starts


def weekly_active(at: datetime, *, weekdays: Iterable[int], start: time, duration: timedelta, tz: ZoneInfo) -> bool:
    """Whether a weekly window is on at `at` (timezone-aware)."""
    days_back = duration.days + 1
    return any(begin <= at < begin + duration for begin in weekly_starts(weekdays, start, tz, at, days_back))


def once_active(at: datetime, *, starts_at: datetime, ends_at: datetime) -> bool:
    return starts_at <= at < ends_at
