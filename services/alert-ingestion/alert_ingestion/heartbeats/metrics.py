"""Heartbeat metrics: `heartbeats_missed_total` (no labels: one series however many heartbeats) and
`heartbeats_down`, read from the database at scrape time, so every replica reports the same number."""

import logging
from collections.abc import Iterator

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from alert_ingestion.heartbeats.tables import heartbeats
from platform_common.metrics import register_collector

logger = logging.getLogger(__name__)

HEARTBEATS_MISSED = Counter("heartbeats_missed_total", "Heartbeat misses claimed by this replica (each opened or joined an incident)")


class DownCollector(Collector):
    """`heartbeats_down`, counted in the database of the most recently started app."""

    def __init__(self) -> None:
        self._engines: list[Engine] = []

    def watch(self, engine: Engine) -> None:
        self._engines.append(engine)

    def forget(self, engine: Engine) -> None:
        self._engines.remove(engine)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if not self._engines:
            return
        try:
            with self._engines[-1].connect() as connection:
                down = connection.execute(
                    select(func.count()).select_from(heartbeats).where(heartbeats.c.down_since.is_not(None))
                ).scalar_one()
        except Exception:  # noqa: BLE001 - a scrape while the database is down reports no gauge
            logger.warning("heartbeats_down skipped: database unavailable")
            return
        yield GaugeMetricFamily(
            "heartbeats_down", "Heartbeats whose ping is missed (their incident is open until the next ping)", value=down
        )


# One collector per process (several apps in one test process share it).
DOWN = DownCollector()
register_collector(DOWN)
