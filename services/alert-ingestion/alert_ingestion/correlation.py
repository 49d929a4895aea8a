"""Correlation: every accepted alert is stored first, then joins or opens an incident.

An alert joins the newest unresolved incident with the same service and severity created within the
window (read from the view incident-management publishes for this). Otherwise it opens one through
incident-management's API. Opening is serialised per (service, severity) with a transaction-scoped
advisory lock, so concurrent identical alerts on any number of replicas open exactly one incident; the
request carries an Idempotency-Key (the alert id), so a retried request never opens a second one.

If incident-management cannot be reached the alert stays stored as `pending`; the retry worker
correlates pending alerts, oldest first, once it is back. Nothing accepted is lost.
"""

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.exc import ProgrammingError

from alert_ingestion.metrics import count_correlation
from alert_ingestion.schemas import AlertIn
from alert_ingestion.tables import alerts, correlation_candidates
from platform_common.clock import utcnow
from platform_common.http import PeerUnavailable, ServiceClient

logger = logging.getLogger(__name__)
PENDING_BATCH = 200

# One statement: store the alert and, when a matching incident exists, attach it right away.
_INSERT_AND_ATTACH = text("""
INSERT INTO alert_ingestion.alerts
    (service, severity, message, labels, timestamp, received_at, source, fingerprint, incident_id, status, action, correlated_at)
SELECT :service, :severity, :message, CAST(:labels AS jsonb), :timestamp, :now, :source, :fingerprint, c.id,
       CASE WHEN c.id IS NULL THEN 'pending' ELSE 'correlated' END,
       CASE WHEN c.id IS NULL THEN NULL ELSE 'attached_to_existing_incident' END,
       CASE WHEN c.id IS NULL THEN NULL ELSE CAST(:now AS timestamptz) END
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
    SELECT id FROM incident_management.correlation_candidates
    WHERE service = :service AND severity = :severity AND created_at >= :since
    ORDER BY created_at DESC LIMIT 1
) AS c ON true
ON CONFLICT (source, fingerprint) WHERE fingerprint IS NOT NULL AND resolved_at IS NULL DO NOTHING
RETURNING id, incident_id, status, action
""")

_INSERT_PENDING = text("""
INSERT INTO alert_ingestion.alerts
    (service, severity, message, labels, timestamp, received_at, source, fingerprint, status)
VALUES (:service, :severity, :message, CAST(:labels AS jsonb), :timestamp, :now, :source, :fingerprint, 'pending')
ON CONFLICT (source, fingerprint) WHERE fingerprint IS NOT NULL AND resolved_at IS NULL DO NOTHING
RETURNING id, incident_id, status, action
""")


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


class Correlator:
    def __init__(self, engine: Engine, incidents: ServiceClient, window_seconds: int) -> None:
        self.engine = engine
        self.incidents = incidents
        self.window = timedelta(seconds=window_seconds)

    def ingest(self, alert: AlertIn, *, source: str = "api", fingerprint: str | None = None) -> Outcome | None:
        """Store the alert (committed before anything else happens), then correlate it. Returns None
        for a duplicate: the source already has a firing alert with this fingerprint."""
        now = utcnow()
        params = {
            "service": alert.service,
            "severity": str(alert.severity),
            "message": alert.message,
            "labels": json.dumps(alert.labels),
            "timestamp": alert.timestamp or now,
            "now": now,
            "source": source,
            "fingerprint": fingerprint,
            "since": now - self.window,
        }
        try:
            with self._autocommit() as connection:
                row = connection.execute(_INSERT_AND_ATTACH, params).one_or_none()
        except ProgrammingError:  # incident-management has not published its view yet
            logger.warning("correlation view missing; alert stored as pending")
            with self._autocommit() as connection:
                row = connection.execute(_INSERT_PENDING, params).one_or_none()
        if row is None:
            return None
        if row.status == "correlated":
            count_correlation(row.action)
            return _outcome(row)
        return self.correlate(row.id)

    def _autocommit(self) -> Connection:
        """A connection for one self-contained statement: no BEGIN / COMMIT round trips."""
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

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
