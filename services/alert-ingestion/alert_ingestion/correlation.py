"""Correlation: every accepted alert is stored first, then joins or opens an incident.

An alert joins the newest unresolved incident with the same service and severity created within the
window (read from the view incident-management publishes for this). Otherwise it asks
incident-management to open one *or* join the one another request opened meanwhile: that find-or-open
decision is taken inside incident-management under its own advisory lock, so concurrent identical
alerts on any number of replicas open exactly one incident. The request carries an Idempotency-Key
(the alert id), so a retried request never opens a second one. No database connection is held while
incident-management is asked.

If incident-management cannot be reached the alert stays stored as `pending`; the retry worker
correlates pending alerts, oldest first, once it is back. Nothing accepted is lost. A client that
retries a POST sends an Idempotency-Key and gets the alert already stored back (`replayed`).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import ProgrammingError

from alert_ingestion.metrics import count_correlation, count_suppressed
from alert_ingestion.opener import BATCH as OPEN_BATCH
from alert_ingestion.opener import IncidentOpener, NewAlert
from alert_ingestion.routing.cache import RoutingCache
from alert_ingestion.routing.decide import decide
from alert_ingestion.schemas import AlertIn
from alert_ingestion.storing import INSERT_UNCORRELATED, AlertStore, json_text
from alert_ingestion.tables import alerts, correlation_candidates
from platform_common.clock import utcnow
from platform_common.db import autocommitted
from platform_common.http import ServiceClient

logger = logging.getLogger(__name__)
PENDING_BATCH = 200

_BY_KEY = "SELECT id, incident_id, status, action FROM alert_ingestion.alerts WHERE idempotency_key = %(key)s"


@dataclass(frozen=True)
class Outcome:
    alert_id: UUID
    incident_id: UUID | None
    status: str
    action: str
    peer_down: bool = False
    replayed: bool = False
    deduplicated: bool = False  # a repeat of a firing alert's dedup_key, counted on that alert (dedup.py)


def _outcome(row, *, peer_down: bool = False, replayed: bool = False) -> Outcome:
    action = row.action or ("queued" if row.status == "pending" else row.status)  # silenced | dropped
    return Outcome(row.id, row.incident_id, row.status, action, peer_down, replayed)


class Correlator:
    def __init__(self, engine: Engine, intake: AsyncConnectionPool, incidents: ServiceClient, window_seconds: int) -> None:
        self.engine = engine
        self.alert_store = AlertStore(intake)
        self.routing = RoutingCache(intake, default_window_seconds=window_seconds)
        self.opener = IncidentOpener(engine, incidents, self._window_seconds)

    async def ingest(
        self,
        alert: AlertIn,
        *,
        source: str = "api",
        fingerprint: str | None = None,
        idempotency_key: str | None = None,
        dedup_key: str | None = None,
        integration_id: UUID | None = None,
        details: dict | None = None,
    ) -> Outcome | None:
        """Store the alert (committed before anything else happens), then correlate it. Returns None
        for a duplicate (the source already has a firing alert with this fingerprint, or the integration
        one with this dedup_key: dedup.py counts the repeat), and the stored alert, `replayed`, for an
        Idempotency-Key already used.

        The common case (a matching incident exists) is one statement on the asynchronous intake pool,
        shared with the alerts arriving meanwhile (storing.py); an alert that opens an incident waits for
        it with the others arriving meanwhile (opener.py). Routing rules, silences,
        maintenance windows and grouping decide first what the alert becomes (routing/decide.py)."""
        now = utcnow()
        decision = decide(await self.alert_store.guard(self.routing.snapshot()), alert, integration_id=integration_id, at=now)
        alert = decision.alert
        params = {
            "service": alert.service,
            "severity": str(alert.severity),
            "message": alert.message,
            "labels": json_text(alert.labels),
            "timestamp": alert.timestamp or now,
            "now": now,
            "source": source,
            "fingerprint": fingerprint,
            "key": idempotency_key,
            "dedup_key": dedup_key,
            "integration_id": integration_id,
            "details": json_text(details),
            "since": now - timedelta(seconds=decision.window_seconds),
            "status": decision.status,
            "routing_rule_id": decision.rule.id if decision.rule else None,
            "group_key": decision.group_key,
            "silence_id": decision.silence_id,
            "maintenance_window_id": decision.maintenance_window_id,
        }
        if decision.status == "pending":
            row = await self.alert_store.store(params)
        else:
            row = await self.alert_store.fetch(INSERT_UNCORRELATED, params)
        if row is None:
            if idempotency_key is None:
                return None
            stored = await self.alert_store.fetch(_BY_KEY, params)
            return _outcome(stored, replayed=True) if stored else None
        if row.status == "correlated":
            count_correlation(row.action)
            return _outcome(row)
        if row.status != "pending":
            count_suppressed(row.status, rule=decision.rule.name if decision.rule else None, maintenance=decision.silence_id is None)
            return _outcome(row)
        opened = await self.opener.open(NewAlert(row.id, alert.message, alert.service, str(alert.severity), decision.group_key))
        return _outcome(opened, peer_down=opened.peer_down)

    async def fetch(self, statement: str, params: dict) -> Any:
        """One statement on the intake pool (its first row, or None); the database being down is a 503."""
        return await self.alert_store.fetch(statement, params)

    def correlate(self, alert_id: UUID) -> Outcome:
        """Give a pending alert its incident (asking incident-management as new alerts do: a batch, of
        one); leaves it pending when incident-management is down or refuses. No transaction is open while
        incident-management is asked."""
        with self.engine.begin() as connection:
            alert = connection.execute(select(alerts).where(alerts.c.id == alert_id)).one()
            if alert.status != "pending":
                return _outcome(alert)
            incident_id = self._find_incident(connection, alert, utcnow())
            if incident_id is not None:
                return self._attach(connection, alert, incident_id, "attached_to_existing_incident")
        (opened,) = self.opener.open_batch([NewAlert(alert.id, alert.message, alert.service, alert.severity, alert.group_key)])
        return _outcome(opened, peer_down=opened.peer_down)

    def _attach(self, connection: Connection, alert, incident_id: UUID, action: str) -> Outcome:
        """Record the alert's incident, unless another replica's cycle already did."""
        row = connection.execute(
            update(alerts)
            .where(alerts.c.id == alert.id, alerts.c.status == "pending")
            .values(incident_id=incident_id, status="correlated", action=action, correlated_at=utcnow(), last_error=None)
            .returning(alerts.c.id, alerts.c.incident_id, alerts.c.status, alerts.c.action)
        ).first()
        if row is None:
            return _outcome(connection.execute(select(alerts).where(alerts.c.id == alert.id)).one())
        count_correlation(action)
        return _outcome(row)

    def _window_seconds(self, service: str) -> int:
        """The service's correlation window (its grouping, else CORRELATION_WINDOW_SECONDS)."""
        return self.routing.latest.window_seconds(service)

    def _window(self, service: str) -> timedelta:
        return timedelta(seconds=self._window_seconds(service))

    def _find_incident(self, connection: Connection, alert, now: datetime) -> UUID | None:
        try:
            with connection.begin_nested():
                return connection.execute(
                    select(correlation_candidates.c.id)
                    .where(
                        correlation_candidates.c.service == alert.service,
                        correlation_candidates.c.severity == alert.severity,
                        correlation_candidates.c.group_key.is_not_distinct_from(alert.group_key),
                        correlation_candidates.c.created_at >= now - self._window(alert.service),
                    )
                    .order_by(correlation_candidates.c.created_at.desc())
                    .limit(1)
                ).scalar()
        except ProgrammingError:  # view not published yet: incident-management has never started
            return None

    def correlate_pending(self) -> int:
        """One retry cycle: correlate stored pending alerts, oldest first, in batches as new alerts are
        (opener.py); stop while incident-management is down."""
        with autocommitted(self.engine) as connection:
            pending = connection.execute(
                select(alerts.c.id, alerts.c.message, alerts.c.service, alerts.c.severity, alerts.c.group_key)
                .where(alerts.c.status == "pending")
                .order_by(alerts.c.received_at)
                .limit(PENDING_BATCH)
            ).all()
        done = 0
        for start in range(0, len(pending), OPEN_BATCH):
            outcomes = self.opener.open_batch([NewAlert(*row) for row in pending[start : start + OPEN_BATCH]])
            done += sum(outcome.status == "correlated" for outcome in outcomes)
            if any(outcome.peer_down for outcome in outcomes):
                break
        return done
