"""Dedup keys: the client names an alert (`dedup_key`, the Events API's and the generic API's), so that
repeats and the resolution find it.

- One firing alert per (integration, dedup_key): keys are scoped to the integration whose key sent them,
  as PagerDuty scopes them to its service; keys sent without an integration key share one namespace.
- A trigger whose key is already firing is a repeat: counted on that alert (`repeat_count`,
  `last_repeated_at`), nothing stored, never a second incident. Except when a person resolved that
  alert's incident meanwhile: then the old alert is closed and the trigger is a new alert (a new
  incident), as PagerDuty resolves an incident's alerts with it.
- A resolve marks the firing alert resolved and flags it for the resolution reporter (resolution.py),
  which tells its incident once its last firing alert is resolved, as for Alertmanager.
"""

from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID

import psycopg
from anyio import to_thread
from sqlalchemy import Engine, RowMapping, select, update

from alert_ingestion.correlation import Correlator, Outcome
from alert_ingestion.metrics import ALERTS_RESOLVED
from alert_ingestion.schemas import AlertIn
from alert_ingestion.tables import alerts
from platform_common.clock import utcnow
from platform_common.db import autocommitted
from platform_common.errors import DependencyUnavailable

_FIRING = "integration_id IS NOT DISTINCT FROM %(integration_id)s AND dedup_key = %(dedup_key)s AND resolved_at IS NULL"
_OPEN_INCIDENT = "(incident_id IS NULL OR incident_id IN (SELECT id FROM incident_management.correlation_candidates))"
_COUNTED = "SET repeat_count = repeat_count + 1, last_repeated_at = %(now)s"
_RETURNING = "RETURNING id, incident_id, status, action"

# A repeat counts on the firing alert unless its incident was resolved meanwhile.
_REPEAT = f"UPDATE alert_ingestion.alerts {_COUNTED} WHERE {_FIRING} AND {_OPEN_INCIDENT} {_RETURNING}"
# incident-management has not published its view yet (it never started): no alert has an incident.
_REPEAT_NO_INCIDENTS = f"UPDATE alert_ingestion.alerts {_COUNTED} WHERE {_FIRING} {_RETURNING}"
# The firing alert of an incident a person resolved: closed, so that the repeat opens a new incident.
_CLOSE_STALE = (
    f"UPDATE alert_ingestion.alerts SET resolved_at = %(now)s WHERE {_FIRING} AND incident_id IS NOT NULL "
    f"AND incident_id NOT IN (SELECT id FROM incident_management.correlation_candidates) {_RETURNING}"
)
_ATTEMPTS = 3  # store, or count on the firing alert: each try loses only to a concurrent change of that alert


async def ingest(
    correlator: Correlator,
    alert: AlertIn,
    *,
    source: str,
    dedup_key: str,
    integration_id: UUID | None,
    details: dict | None = None,
    idempotency_key: str | None = None,
) -> Outcome:
    """Store and correlate a new alert with this key, or count a repeat on the one firing (`deduplicated`)."""
    scope = {"integration_id": integration_id, "dedup_key": dedup_key}
    for _ in range(_ATTEMPTS):
        outcome = await correlator.ingest(
            alert, source=source, idempotency_key=idempotency_key, dedup_key=dedup_key, integration_id=integration_id, details=details
        )
        if outcome is not None:
            return outcome
        params = {**scope, "now": utcnow()}
        row = await _repeat(correlator, params)
        if row is not None:
            return Outcome(row.id, row.incident_id, row.status, row.action or "queued", deduplicated=True)
        await correlator.fetch(_CLOSE_STALE, params)
    raise DependencyUnavailable("The alert with this dedup_key kept changing; retry")


async def _repeat(correlator: Correlator, params: dict):
    try:
        return await correlator.fetch(_REPEAT, params)
    except psycopg.errors.UndefinedTable:
        return await correlator.fetch(_REPEAT_NO_INCIDENTS, params)


def _scoped(integration_id: UUID | None, dedup_key: str):
    return alerts.c.integration_id.is_not_distinct_from(integration_id), alerts.c.dedup_key == dedup_key


def resolve(engine: Engine, *, integration_id: UUID | None, dedup_key: str, resolved_at: datetime) -> tuple[RowMapping | None, bool]:
    """Resolve the firing alert with this key and flag it for the resolution reporter. Returns (the alert,
    whether this call resolved it): the firing one, else the newest already resolved (a repeated
    resolve changes nothing), else (None, False) when no alert ever had this key."""
    with engine.begin() as connection:
        row = (
            connection.execute(
                update(alerts)
                .where(*_scoped(integration_id, dedup_key), alerts.c.resolved_at.is_(None))
                .values(resolved_at=resolved_at, resolution_pending=True)
                .returning(alerts)
            )
            .mappings()
            .first()
        )
        if row is not None:
            return row, True
        newest = select(alerts).where(*_scoped(integration_id, dedup_key)).order_by(alerts.c.received_at.desc()).limit(1)
        return connection.execute(newest).mappings().first(), False


async def resolve_and_report(state: Any, *, source: str, integration_id: UUID | None, dedup_key: str) -> RowMapping | None:
    """`resolve` off the event loop; when this call resolved the alert, it is counted and the resolution
    reporter is woken to tell its incident."""
    resolving = partial(resolve, state.engine, integration_id=integration_id, dedup_key=dedup_key, resolved_at=utcnow())
    row, changed = await to_thread.run_sync(resolving)
    if changed:
        ALERTS_RESOLVED.labels(source).inc()
        state.resolution_worker.wake()
    return row


def firing(engine: Engine, *, integration_id: UUID | None, dedup_key: str) -> RowMapping | None:
    """The firing alert with this key, if any."""
    with autocommitted(engine) as connection:
        return (
            connection.execute(select(alerts).where(*_scoped(integration_id, dedup_key), alerts.c.resolved_at.is_(None))).mappings().first()
        )
