"""A heartbeat's state at a moment: pure time math, tested with an injected clock.

    up ──(interval passes, no ping)──▶ late ──(grace passes too)──▶ down ──(ping)──▶ up

`due_at` (last ping, or creation, + interval + grace) is stored; the monitor claims a heartbeat that is
up and past it (`is_missed`) and marks it down (`down_since`); a ping moves `due_at` on and clears it.
A heartbeat past `due_at` reads `down` even before the monitor's next cycle has claimed it.
"""

from datetime import datetime, timedelta
from typing import Literal

State = Literal["up", "late", "down"]


def due_at(last_seen: datetime, *, interval_seconds: int, grace_seconds: int) -> datetime:
    """When a heartbeat last seen (pinged, or created) at `last_seen` is down without another ping."""
    return last_seen + timedelta(seconds=interval_seconds + grace_seconds)


def is_missed(*, due: datetime, down_since: datetime | None, now: datetime) -> bool:
    """Up, and no ping came in time: the monitor opens its incident now."""
    return down_since is None and now >= due


def state_at(*, due: datetime, grace_seconds: int, down_since: datetime | None, now: datetime) -> State:
    if down_since is not None or now >= due:
        return "down"
    if now >= due - timedelta(seconds=grace_seconds):
        return "late"
    return "up"
