"""The routing state every alert is decided against, held in memory and reloaded at most every
`ROUTING_CACHE_SECONDS` (1.5 s), so the intake path never queries rules, silences or windows per alert.

A change made through this replica's API takes effect at once (`invalidate`); on other replicas within
the reload interval. Only what can still apply is loaded: rules, grouping, silences not yet over and
maintenance windows not ended.
"""

import asyncio
import time
from collections.abc import Mapping
from datetime import datetime, timedelta

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from alert_ingestion.routing.decide import Grouping, MaintenanceWindow, Rule, Silence, Snapshot
from alert_ingestion.routing.matchers import Matcher, build, cheapest_first
from platform_common.clock import utcnow
from platform_common.severity import Severity

MAX_SILENCES = 10_000
S = "alert_ingestion"
_RULES = f"SELECT id, name, matchers, integration_id, set_service, set_severity, drop FROM {S}.routing_rules ORDER BY position, created_at"
_SILENCES = f"SELECT id, matchers, starts_at, ends_at FROM {S}.silences WHERE ends_at > %(now)s ORDER BY starts_at LIMIT {MAX_SILENCES}"
_WINDOWS = (
    f"SELECT id, service, starts_at, ends_at, weekdays, start_time, duration_minutes, timezone, ended_at FROM {S}.maintenance_windows "
    f"WHERE ended_at IS NULL OR ended_at > %(now)s"
)
_GROUPING = f"SELECT service, group_by, window_seconds FROM {S}.grouping_policies"


def _matchers(stored: list[dict]) -> tuple[Matcher, ...]:
    return cheapest_first(tuple(build(m["name"], m["op"], m["value"]) for m in stored))


def to_window(row: Mapping) -> MaintenanceWindow:
    """A stored maintenance window (a row as a mapping) → the form its activity is computed on."""
    return MaintenanceWindow(
        id=row["id"],
        service=row["service"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        weekdays=tuple(row["weekdays"] or ()),
        start_time=row["start_time"],
        duration=None if row["duration_minutes"] is None else timedelta(minutes=row["duration_minutes"]),
        timezone=row["timezone"],
        ended_at=row["ended_at"],
    )


async def load(pool: AsyncConnectionPool, *, now: datetime, default_window_seconds: int) -> Snapshot:
    async with pool.connection() as connection:
        cursor = connection.cursor(row_factory=dict_row)
        rules = await (await cursor.execute(_RULES)).fetchall()
        silences = await (await cursor.execute(_SILENCES, {"now": now})).fetchall()
        windows = await (await cursor.execute(_WINDOWS, {"now": now})).fetchall()
        grouping = await (await cursor.execute(_GROUPING)).fetchall()
    by_service: dict[str, list[MaintenanceWindow]] = {}
    for row in windows:
        by_service.setdefault(row["service"], []).append(to_window(row))
    return Snapshot(
        rules=tuple(
            Rule(
                id=r["id"],
                name=r["name"],
                matchers=_matchers(r["matchers"]),
                integration_id=r["integration_id"],
                set_service=r["set_service"],
                set_severity=None if r["set_severity"] is None else Severity(r["set_severity"]),
                drop=r["drop"],
            )
            for r in rules
        ),
        silences=tuple(Silence(s["id"], _matchers(s["matchers"]), s["starts_at"], s["ends_at"]) for s in silences),
        windows={service: tuple(found) for service, found in by_service.items()},
        grouping={g["service"]: Grouping(tuple(g["group_by"]), g["window_seconds"]) for g in grouping},
        default_window_seconds=default_window_seconds,
    )


class RoutingCache:
    def __init__(self, pool: AsyncConnectionPool, *, default_window_seconds: int, max_age_seconds: float = 1.5) -> None:
        self.pool = pool
        self.default_window_seconds = default_window_seconds
        self.max_age = max_age_seconds
        self.latest = Snapshot(default_window_seconds=default_window_seconds)  # what the last load saw
        self._loaded: tuple[float, int] | None = None  # (monotonic time, generation) of the last load
        self._generation = 0  # moved by every local change
        self._reload = asyncio.Lock()

    def invalidate(self) -> None:
        """A rule, silence, window or grouping changed here: the next alert reloads (a load already
        under way may have missed the change, so it does not count)."""
        self._generation += 1

    def _fresh(self) -> bool:
        if self._loaded is None:
            return False
        at, generation = self._loaded
        return generation == self._generation and time.monotonic() - at < self.max_age

    async def snapshot(self) -> Snapshot:
        """The current state. When it is stale one request reloads it; meanwhile the others go on with
        the previous snapshot, unless a local change made it outdated."""
        if self._fresh():
            return self.latest
        if self._reload.locked() and self._loaded is not None and self._loaded[1] == self._generation:
            return self.latest
        async with self._reload:
            if not self._fresh():
                started, generation = time.monotonic(), self._generation
                self.latest = await load(self.pool, now=utcnow(), default_window_seconds=self.default_window_seconds)
                self._loaded = (started, generation)
        return self.latest
