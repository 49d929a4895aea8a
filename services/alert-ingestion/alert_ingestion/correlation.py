"""Correlation: every accepted alert is stored first, then joins or opens an incident.

An alert joins the newest unresolved incident with the same service and severity created within the
window (read from the view incident-management publishes for this). Otherwise it opens one through
incident-management's API. Opening is serialised per (service, severity) with a transaction-scoped
advisory lock, so concurrent identical alerts on any number of replicas open exactly one incident; the
request carries an Idempotency-Key (the alert id), so a retried request never opens a second one.

If incident-management cannot be reached the alert stays stored as `pending`; the retry worker
correlates pending alerts, oldest first, once it is back. Nothing accepted is lost.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from anyio import to_thread
from psycopg.rows import namedtuple_row
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from alert_ingestion.metrics import count_correlation
from alert_ingestion.schemas import AlertIn
from alert_ingestion.tables import alerts, correlation_candidates
from platform_common.clock import utcnow
from platform_common.errors import DependencyUnavailable
from platform_common.http import PeerUnavailable, ServiceClient

logger = logging.getLogger(__name__)
PENDING_BATCH = 200

# One statement: store the alert and, when a matching incident exists, attach it right away.
# (psycopg placeholders: this runs on the asynchronous intake pool, not through SQLAlchemy.)
_INSERT_AND_ATTACH = """
INSERT INTO alert_ingestion.alerts
    (service, severity, message, labels, timestamp, received_at, source, fingerprint, incident_id, status, action, correlated_at)
SELECT %(service)s, %(severity)s, %(message)s, %(labels)s, %(timestamp)s, %(now)s, %(source)s, %(fingerprint)s, c.id,
       CASE WHEN c.id IS NULL THEN 'pending' ELSE 'correlated' END,
       CASE WHEN c.id IS NULL THEN NULL ELSE 'attached_to_existing_incident' END,
       CASE WHEN c.id IS NULL THEN NULL ELSE %(now)s::timestamptz END
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
    SELECT id FROM incident_management.correlation_candidates
    WHERE service = %(service)s AND severity = %(severity)s AND created_at >= %(since)s
    ORDER BY created_at DESC LIMIT 1
) AS c ON true
ON CONFLICT (source, fingerprint) WHERE fingerprint IS NOT NULL AND resolved_at IS NULL DO NOTHING
RETURNING id, incident_id, status, action
"""

_INSERT_PENDING = """
INSERT INTO alert_ingestion.alerts
    (service, severity, message, labels, timestamp, received_at, source, fingerprint, status)
VALUES (%(service)s, %(severity)s, %(message)s, %(labels)s, %(timestamp)s, %(now)s, %(source)s, %(fingerprint)s, 'pending')
ON CONFLICT (source, fingerprint) WHERE fingerprint IS NOT NULL AND resolved_at IS NULL DO NOTHING
RETURNING id, incident_id, status, action
"""


@dataclass(frozen=True)
class Outcome:
    alert_id: UUID
    incident_id: UUID | None
    status: str
    action: str
    peer_down: bool = False


class IncidentRejected(Exception):
    """incident-management refused to open the incident (4xx); the alert stays pending, visibly."""


def _outcome(row, *, peer_down: bool = False) -> Outcome:
    return Outcome(row.id, row.incident_id, row.status, row.action or "queued", peer_down)


def _group_key(service: str, severity: str) -> str:
    return f"correlate:{service}\x1f{severity}"


def intake_pool(database_url: str, size: int) -> AsyncConnectionPool:
    """Autocommit connections for the intake statement: one round trip per alert, no thread hop.
    Opened and closed by the app's lifespan."""
    conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    return AsyncConnectionPool(
        conninfo,
        min_size=size,
        max_size=size,
        open=False,
        timeout=10,
        kwargs={"autocommit": True, "row_factory": namedtuple_row},
    )


class Correlator:
    def __init__(self, engine: Engine, intake: AsyncConnectionPool, incidents: ServiceClient, window_seconds: int) -> None:
        self.engine = engine
        self.intake = intake
        self.incidents = incidents
        self.window = timedelta(seconds=window_seconds)

    async def ingest(self, alert: AlertIn, *, source: str = "api", fingerprint: str | None = None) -> Outcome | None:
        """Store the alert (committed before anything else happens), then correlate it. Returns None
        for a duplicate: the source already has a firing alert with this fingerprint.

        The common case (a matching incident exists) is one statement on the asynchronous intake pool;
        opening an incident takes the synchronous path in a worker thread."""
        now = utcnow()
        params = {
            "service": alert.service,
            "severity": str(alert.severity),
            "message": alert.message,
            "labels": Jsonb(alert.labels),
            "timestamp": alert.timestamp or now,
            "now": now,
            "source": source,
            "fingerprint": fingerprint,
            "since": now - self.window,
        }
        try:
            row = await self._store(params)
        except PoolTimeout as exc:
            raise DependencyUnavailable("The database is busy; retry shortly") from exc
        if row is None:
            return None
        if row.status == "correlated":
            count_correlation(row.action)
            return _outcome(row)
        return await to_thread.run_sync(self.correlate, row.id)

    async def _store(self, params: dict) -> Any:
        async with self.intake.connection() as connection:
            try:
                return await (await connection.execute(_INSERT_AND_ATTACH, params)).fetchone()
            except psycopg.errors.UndefinedTable:  # incident-management has not published its view yet
                logger.warning("correlation view missing; alert stored as pending")
                return await (await connection.execute(_INSERT_PENDING, params)).fetchone()

    def correlate(self, alert_id: UUID) -> Outcome:
        """Give a pending alert its incident; leaves it pending when incident-management is down."""
        with self.engine.begin() as connection:
            service, severity = connection.execute(select(alerts.c.service, alerts.c.severity).where(alerts.c.id == alert_id)).one()
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": _group_key(service, severity)})
            alert = connection.execute(select(alerts).where(alerts.c.id == alert_id).with_for_update()).one()
            if alert.status != "pending":
                return _outcome(alert)
            now = utcnow()
            incident_id = self._find_incident(connection, service, severity, now)
            action = "attached_to_existing_incident"
            if incident_id is None:
                try:
                    incident_id = self._open_incident(alert)
                except (PeerUnavailable, IncidentRejected) as exc:
                    connection.execute(
                        update(alerts).where(alerts.c.id == alert_id).values(attempts=alerts.c.attempts + 1, last_error=str(exc)[:1000])
                    )
                    return _outcome(alert, peer_down=isinstance(exc, PeerUnavailable))
                action = "new_incident"
            row = connection.execute(
                update(alerts)
                .where(alerts.c.id == alert_id)
                .values(incident_id=incident_id, status="correlated", action=action, correlated_at=now, last_error=None)
                .returning(alerts.c.id, alerts.c.incident_id, alerts.c.status, alerts.c.action)
            ).one()
        count_correlation(action)
        return _outcome(row)

    def _find_incident(self, connection: Connection, service: str, severity: str, now: datetime) -> UUID | None:
        try:
            with connection.begin_nested():
                return connection.execute(
                    select(correlation_candidates.c.id)
                    .where(
                        correlation_candidates.c.service == service,
                        correlation_candidates.c.severity == severity,
                        correlation_candidates.c.created_at >= now - self.window,
                    )
                    .order_by(correlation_candidates.c.created_at.desc())
                    .limit(1)
                ).scalar()
        except ProgrammingError:  # view not published yet: incident-management has never started
            return None

    def _open_incident(self, alert) -> UUID:
        response = self.incidents.post(
            "/api/v1/incidents",
            json={"title": alert.message[:500], "service": alert.service, "severity": alert.severity},
            headers={"Idempotency-Key": f"alert:{alert.id}"},
        )
        if response.status_code not in (200, 201):
            raise IncidentRejected(f"incident-management answered {response.status_code}: {response.text[:200]}")
        return UUID(response.json()["id"])

    def correlate_pending(self) -> int:
        """One retry cycle: correlate stored pending alerts, oldest first; stop while the peer is down."""
        with self.engine.connect() as connection:
            pending = (
                connection.execute(
                    select(alerts.c.id).where(alerts.c.status == "pending").order_by(alerts.c.received_at).limit(PENDING_BATCH)
                )
                .scalars()
                .all()
            )
        done = 0
        for alert_id in pending:
            outcome = self.correlate(alert_id)
            if outcome.peer_down:
                break
            done += outcome.status == "correlated"
        return done
