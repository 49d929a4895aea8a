"""incident-management metrics. Gauges of current state are read from the database at scrape time,
so they stay right with any number of replicas."""

import logging
from collections.abc import Iterator

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from incident_management import counts
from incident_management.lifecycle import Status
from platform_common.db import autocommitted
from platform_common.labels import BoundedLabel
from platform_common.severity import Severity

logger = logging.getLogger(__name__)

INCIDENT_MTTA = Histogram(
    "incident_mtta_seconds",
    "Time from incident creation to first acknowledgement",
    buckets=(30, 60, 120, 300, 600, 1800, 3600),
)
INCIDENT_MTTR = Histogram(
    "incident_mttr_seconds",
    "Time from incident creation to resolution",
    buckets=(60, 300, 600, 1800, 3600, 7200, 14400),
)
INCIDENTS_CREATED = Counter("incidents_created_total", "Incidents opened", ["service", "severity"])
# At most METRICS_MAX_SERVICES distinct `service` values (set at start-up); later ones count as "other".
SERVICES = BoundedLabel(500)


def count_created(service: str, severity: str) -> None:
    INCIDENTS_CREATED.labels(SERVICES(service), severity).inc()


class IncidentStateCollector(Collector):
    """`incidents_total{status}`, `incidents_open{severity}` (unresolved) and
    `incidents_unacknowledged{severity}` (still open), from the counts kept in the database (`counts.py`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with autocommitted(self.engine) as connection:
                groups = counts.groups(connection)
        except Exception:  # noqa: BLE001 - a scrape while the database is down reports no state gauges
            logger.warning("incident state gauges skipped: database unavailable")
            return
        by_status = dict.fromkeys(map(str, Status), 0)
        open_by_severity = dict.fromkeys(map(str, Severity), 0)
        unacknowledged = dict.fromkeys(map(str, Severity), 0)
        for group in groups:
            by_status[group.status] += group.incidents
            if group.status != Status.RESOLVED:
                open_by_severity[group.severity] += group.incidents
            if group.status == Status.OPEN:
                unacknowledged[group.severity] += group.incidents
        total = GaugeMetricFamily("incidents_total", "Incidents by current status", labels=["status"])
        for status, count in by_status.items():
            total.add_metric([status], count)
        yield total
        yield _by_severity("incidents_open", "Unresolved incidents by severity", open_by_severity)
        yield _by_severity("incidents_unacknowledged", "Incidents nobody has acknowledged yet, by severity", unacknowledged)


def _by_severity(name: str, documentation: str, counts: dict[str, int]) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, documentation, labels=["severity"])
    for severity, count in counts.items():
        gauge.add_metric([severity], count)
    return gauge
