"""Retention: a background worker that removes a table's rows once they are older than a set age.

Rows go in small batches, each its own short transaction: the oldest-first candidates are locked
`FOR UPDATE SKIP LOCKED` (a row another transaction holds is left for a later batch, so nothing waits
and replicas share the work), their child rows are deleted, then they are. No lock outlives a batch.

A target names what may go: rows whose age columns are all before the cutoff and for which `keep` does
not hold (e.g. an alert still `pending` is never removed: an accepted alert is done or visibly pending).
While a backlog drains, each full batch is followed by a pause nine times as long as the batch took
(`DUTY_CYCLE`: retention spends at most a tenth of its time removing), so it never competes with intake
for the whole machine. A cycle removes at most `batches_per_cycle` batches per target, then asks for
the next cycle at once if more is left, so a large backlog drains in cycles that each finish
(readiness stays truthful; a stop ends the pause). `max_age_days` 0 keeps everything. Removed rows are
counted in `retention_deleted_rows_total{table}`.
"""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import Counter
from sqlalchemy import Column, ColumnElement, Connection, Engine, Table, and_, delete, not_, select

from platform_common.clock import utcnow
from platform_common.worker import PeriodicWorker

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
BATCHES_PER_CYCLE = 20
DUTY_CYCLE = 0.1

DELETED_ROWS = Counter("retention_deleted_rows_total", "Rows removed by retention because they were older than the set age", ["table"])


@dataclass(frozen=True)
class RetentionTarget:
    """What retention removes from one table.

    `ages`: a row is old when every one of these columns is before the cutoff; the first should lead an
    index so the candidates are found without a scan. `keep`: rows never removed, whatever their age.
    `children`: foreign-key columns of other tables whose rows go with their parent (deleted first, and
    counted under their own table's name).
    """

    ages: Sequence[Column]
    keep: ColumnElement[bool] | None = None
    children: Sequence[Column] = ()

    @property
    def table(self) -> Table:
        return self.ages[0].table

    @property
    def names(self) -> list[str]:
        return [self.table.name, *(child.table.name for child in self.children)]


def delete_batch(connection: Connection, target: RetentionTarget, cutoff: datetime, limit: int) -> dict[str, int]:
    """Remove up to `limit` old rows of the target (and their children) in the caller's transaction."""
    table = target.table
    old = and_(*(age < cutoff for age in target.ages))
    candidates = select(table.c.id).where(old if target.keep is None else and_(old, not_(target.keep)))
    oldest_first = candidates.order_by(target.ages[0]).limit(limit).with_for_update(skip_locked=True)
    ids = connection.execute(oldest_first).scalars().all()
    removed = {name: 0 for name in target.names}
    if not ids:
        return removed
    for child in target.children:
        removed[child.table.name] = connection.execute(delete(child.table).where(child.in_(ids))).rowcount
    removed[table.name] = connection.execute(delete(table).where(table.c.id.in_(ids))).rowcount
    return removed


class RetentionWorker(PeriodicWorker):
    """Removes the targets' old rows every `interval_seconds`, one short transaction per batch."""

    def __init__(
        self,
        engine: Engine,
        targets: Sequence[RetentionTarget],
        *,
        max_age_days: int,
        interval_seconds: float,
        clock: Callable[[], datetime] = utcnow,
        batch_size: int = BATCH_SIZE,
        batches_per_cycle: int = BATCHES_PER_CYCLE,
        pause: Callable[[float], bool] | None = None,
    ) -> None:
        super().__init__("retention", interval_seconds, self.run_cycle)
        self.engine = engine
        self.targets = targets
        self.max_age_days = max_age_days
        self.now = clock
        self.batch_size = batch_size
        self.batches_per_cycle = batches_per_cycle
        self.pause = pause or self._stop.wait  # True: the worker is stopping
        for target in targets:  # every series exists from the first scrape, at zero
            for name in target.names:
                DELETED_ROWS.labels(name)

    def run_cycle(self) -> dict[str, int]:
        """One cycle: rows removed per table. Wakes the worker again when a target has more to remove."""
        removed: dict[str, int] = {}
        if self.max_age_days <= 0:
            return removed
        cutoff = self.now() - timedelta(days=self.max_age_days)
        backlog = False
        for target in self.targets:
            backlog = self._remove(target, cutoff, removed) or backlog
        if backlog:
            self.wake()
        if any(removed.values()):
            logger.info("retention: removed rows older than %s: %s", cutoff.isoformat(), removed)
        return removed

    def _remove(self, target: RetentionTarget, cutoff: datetime, removed: dict[str, int]) -> bool:
        """This cycle's batches of one target, adding to `removed`; True when rows are left for later."""
        for _ in range(self.batches_per_cycle):
            started = time.monotonic()
            with self.engine.begin() as connection:
                batch = delete_batch(connection, target, cutoff, self.batch_size)
            for name, count in batch.items():
                removed[name] = removed.get(name, 0) + count
                DELETED_ROWS.labels(name).inc(count)
            if batch[target.table.name] < self.batch_size:
                return False
            if self.pause((time.monotonic() - started) * (1 - DUTY_CYCLE) / DUTY_CYCLE):
                return True
        return True
