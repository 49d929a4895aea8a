"""oncall-service metrics. Who is on call is read from the database at scrape time, so every replica
reports the same, current answer; escalations are counted by the replica that delivered them."""

import logging
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from oncall import service

logger = logging.getLogger(__name__)

ESCALATIONS = Counter("escalations_total", "Escalations delivered (the next level paged), by team", ["team"])


class OnCallCollector(Collector):
    """`oncall_current{team,role,name}` = 1 for each team's current primary and secondary."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self.session_factory = session_factory
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self.session_factory() as session:
                current = service.all_current(session, now=self.clock())
        except Exception:  # noqa: BLE001 - a scrape while the database is down reports no on-call gauge
            logger.warning("oncall_current skipped: database unavailable")
            return
        gauge = GaugeMetricFamily(
            "oncall_current", "1 for each team's current on-call primary and secondary", labels=["team", "role", "name"]
        )
        for team, shift in current:
            gauge.add_metric([team, "primary", shift.primary.name], 1)
            gauge.add_metric([team, "secondary", shift.secondary.name], 1)
        yield gauge
