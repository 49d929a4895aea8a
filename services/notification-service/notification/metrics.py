"""notification-service metrics (names fixed by SPEC.md §6, plus `notifications_failing`).

`notifications_failing{channel}` is read from the database at scrape time (pending notifications past
their first retry budget), so every replica reports the same, current number and a Prometheus rule can
raise it through Alertmanager: a path that does not depend on the channel that is failing.
"""

import logging
from collections.abc import Iterator

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from notification import service
from notification.schemas import ChannelName
from platform_common.metrics import register_collector

logger = logging.getLogger(__name__)

NOTIFICATIONS_SENT = Counter(
    "notifications_sent_total",
    "Notifications that reached a final state (status=sent|failed|cancelled), and failed attempts that will be retried (status=retry)",
    ["channel", "status"],
)
ONCALL_NOTIFICATIONS_SENT = Counter("oncall_notifications_sent_total", "Notifications delivered successfully", ["channel"])
DELIVERY_DURATION = Histogram(
    "notification_delivery_duration_seconds",
    "Time spent on one delivery attempt",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

for _channel in ChannelName:  # every series exists from the first scrape, at zero
    for _status in ("sent", "failed", "retry", "cancelled"):
        NOTIFICATIONS_SENT.labels(_channel, _status)
    ONCALL_NOTIFICATIONS_SENT.labels(_channel)


def count_attempt(channel: str, *, outcome: str, duration: float) -> None:
    """outcome: sent | failed | cancelled (final) | retry (failed, another attempt is scheduled)."""
    DELIVERY_DURATION.labels(channel).observe(duration)
    NOTIFICATIONS_SENT.labels(channel, outcome).inc()
    if outcome == "sent":
        ONCALL_NOTIFICATIONS_SENT.labels(channel).inc()


def count_cancelled(channel: str) -> None:
    """A page dropped before an attempt because its incident was acknowledged meanwhile."""
    NOTIFICATIONS_SENT.labels(channel, "cancelled").inc()


class FailingCollector(Collector):
    """`notifications_failing{channel}`, counted in the database of the most recently started app."""

    def __init__(self) -> None:
        self._sources: list[sessionmaker[Session]] = []

    def watch(self, session_factory: sessionmaker[Session]) -> None:
        self._sources.append(session_factory)

    def forget(self, session_factory: sessionmaker[Session]) -> None:
        self._sources.remove(session_factory)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if not self._sources:
            return
        try:
            with self._sources[-1]() as session:
                counts = service.failing_by_channel(session)
        except Exception:  # noqa: BLE001 - a scrape while the database is down reports no failing gauge
            logger.warning("notifications_failing skipped: database unavailable")
            return
        gauge = GaugeMetricFamily(
            "notifications_failing", "Pending notifications past their first retry budget (still retried)", labels=["channel"]
        )
        for channel in ChannelName:
            gauge.add_metric([channel], counts.get(channel, 0))
        yield gauge


# One collector per process (several apps in one test process share it): registering per app would
# clash on the metric name.
FAILING = FailingCollector()
register_collector(FAILING)
