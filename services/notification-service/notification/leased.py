"""Notifications this replica has leased and not started yet: its workers' shared batch.

A worker that needs a notification takes the first one here whose lane has room; only when none fits
does it lease a new batch (`Dispatcher`: one statement for as many as the replica has workers), so the
claim's cost is shared by the batch while each notification is still sent by whichever worker is free
(a batch is not one worker's queue: its notifications go out side by side, each in its lane).

A leased notification must be started while its lease leaves room for a whole attempt and its record;
one still waiting after `start_within` (its lane stayed full, e.g. a slow receiver's) is dropped from
here: its lease runs out and it is claimed again, by any replica. Used under the lanes' lock only
(`Lanes.claim`), so no lock of its own.
"""

from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timedelta

from sqlalchemy import RowMapping


class Leased:
    def __init__(self, *, lease_seconds: float, start_within: float, lane: Callable[[RowMapping], str]) -> None:
        self._taken_before_end = timedelta(seconds=lease_seconds)  # a row's lease was taken this long before it ends
        self._start_within = timedelta(seconds=start_within)
        self._lane = lane
        self._rows: list[RowMapping] = []

    def add(self, rows: Iterable[RowMapping]) -> None:
        self._rows.extend(rows)

    def pop(self, *, full: Collection[str], now: datetime) -> RowMapping | None:
        """The first leased notification whose lane is not full (forgetting those too late to start)."""
        self._rows = [row for row in self._rows if now <= row["next_attempt_at"] - self._taken_before_end + self._start_within]
        for index, row in enumerate(self._rows):
            if self._lane(row) not in full:
                return self._rows.pop(index)
        return None
