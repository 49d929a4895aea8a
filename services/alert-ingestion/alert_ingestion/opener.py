"""Opening incidents for new alerts in batches: what a flood of new services (a network partition) needs.

An alert stored as `pending` (no incident to join) waits here for its incident. The alerts waiting
together are sent to incident-management as one batch (`POST /api/v1/incidents/batch`), each item with
its Idempotency-Key (the alert id) and its correlation window, so it opens an incident or joins the one
another alert opened meanwhile, exactly as alone; then they are attached in one statement. One batch
is out at a time per replica (`batches.py`): under load the next batch gathers every alert that arrived
meanwhile, and after a batch of `LINGER_FROM` alerts or more the sender waits up to `LINGER_SECONDS`
for the alerts its answers bring back (clients waiting for their answers to send the next), so they go
together rather than the first alone. A lone alert goes at once, and after a small batch nothing waits.
(Two batches in flight halved the batches of a flood from 32 connections, so every stage paid its fixed
cost per batch twice as often: 245-254 new incidents/s against 299, README "Benchmarks".) No database
connection is held while incident-management is asked (the request runs in a worker thread).

If incident-management cannot be reached or refuses the batch, its alerts stay stored as `pending`
with the error, visibly; the retry worker (correlation.py) sends them again, in batches too.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from uuid import UUID

from anyio import to_thread
from sqlalchemy import Engine, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.types import Text, Uuid

from alert_ingestion.batches import Batches
from alert_ingestion.metrics import count_correlation
from alert_ingestion.tables import alerts
from platform_common.clock import utcnow
from platform_common.db import autocommitted
from platform_common.http import PeerUnavailable, ServiceClient

logger = logging.getLogger(__name__)
BATCH = 100  # incident-management's limit per batch
IN_FLIGHT = 1
# After a batch of LINGER_FROM or more (a flood), how long the sender may wait for the alerts its answers
# bring back. Answering 31 alerts and getting their clients' next ones stored took 10-30 ms (2026-12-02).
LINGER_SECONDS = 0.05
LINGER_FROM = 8

_ATTACH = text(
    """
    UPDATE alert_ingestion.alerts AS a
    SET incident_id = v.incident_id, status = 'correlated', action = v.action, correlated_at = :now, last_error = NULL
    FROM unnest(:ids, :incidents, :actions) AS v(id, incident_id, action)
    WHERE a.id = v.id AND a.status = 'pending'
    RETURNING a.id, a.incident_id, a.status, a.action
    """
).bindparams(bindparam("ids", type_=ARRAY(Uuid())), bindparam("incidents", type_=ARRAY(Uuid())), bindparam("actions", type_=ARRAY(Text())))


@dataclass(frozen=True)
class NewAlert:
    """A stored pending alert and what opening its incident needs."""

    id: UUID
    message: str
    service: str
    severity: str
    group_key: str | None


@dataclass(frozen=True)
class Opened:
    """An alert's state after its batch: correlated to `incident_id`, or still pending (`peer_down`: incident-management unreachable)."""

    id: UUID
    incident_id: UUID | None
    status: str
    action: str | None
    peer_down: bool = False


class IncidentRejected(Exception):
    """incident-management refused the batch (4xx); its alerts stay pending, visibly."""


class IncidentOpener:
    def __init__(self, engine: Engine, incidents: ServiceClient, window_seconds: Callable[[str], int]) -> None:
        self.engine = engine
        self.incidents = incidents
        self.window_seconds = window_seconds
        opening = partial(to_thread.run_sync, self.open_batch)
        self._batches = Batches(opening, size=BATCH, in_flight=IN_FLIGHT, linger_seconds=LINGER_SECONDS, linger_from=LINGER_FROM)

    async def open(self, alert: NewAlert) -> Opened:
        """The alert's state once its incident is opened or joined (or it stays pending)."""
        return await self._batches.submit(alert)

    def open_batch(self, batch: list[NewAlert]) -> list[Opened]:
        """Ask incident-management for the batch's incidents, then attach the alerts (blocking: a worker thread)."""
        try:
            answers = self._ask(batch)
        except (PeerUnavailable, IncidentRejected) as exc:
            self._keep_pending(batch, str(exc))
            return [Opened(alert.id, None, "pending", None, peer_down=isinstance(exc, PeerUnavailable)) for alert in batch]
        try:
            return self._attach(batch, answers)
        except (OperationalError, SQLAlchemyTimeoutError):  # stored: the retry worker correlates them later
            logger.warning("database unavailable while attaching %d alerts; they stay pending", len(batch))
            return [Opened(alert.id, None, "pending", None) for alert in batch]

    def _ask(self, batch: list[NewAlert]) -> list[tuple[UUID, str]]:
        items = [
            {
                "title": alert.message[:500],
                "service": alert.service,
                "severity": alert.severity,
                "correlation_window_seconds": self.window_seconds(alert.service),
                "group_key": alert.group_key,
                "idempotency_key": f"alert:{alert.id}",
            }
            for alert in batch
        ]
        response = self.incidents.post("/api/v1/incidents/batch", json={"incidents": items})
        if response.status_code != 200:
            raise IncidentRejected(f"incident-management answered {response.status_code}: {response.text[:200]}")
        return [(UUID(answer["incident"]["id"]), answer["action"]) for answer in response.json()]

    def _attach(self, batch: list[NewAlert], answers: list[tuple[UUID, str]]) -> list[Opened]:
        """Record each alert's incident in one statement (atomic by itself: autocommit), unless the retry
        worker already did."""
        ids = [alert.id for alert in batch]
        with autocommitted(self.engine) as connection:
            params = {"ids": ids, "incidents": [incident for incident, _ in answers], "actions": [action for _, action in answers]}
            rows = {row.id: row for row in connection.execute(_ATTACH, {**params, "now": utcnow()})}
            for row in rows.values():
                count_correlation(row.action)
            missing = [alert_id for alert_id in ids if alert_id not in rows]
            if missing:
                rows.update((row.id, row) for row in connection.execute(select(alerts).where(alerts.c.id.in_(missing))))
        return [Opened(row.id, row.incident_id, row.status, row.action) for row in (rows[alert_id] for alert_id in ids)]

    def _keep_pending(self, batch: list[NewAlert], error: str) -> None:
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    update(alerts)
                    .where(alerts.c.id.in_([alert.id for alert in batch]), alerts.c.status == "pending")
                    .values(attempts=alerts.c.attempts + 1, last_error=error[:1000])
                )
        except (OperationalError, SQLAlchemyTimeoutError):
            logger.warning("database unavailable while recording that %d alerts stay pending", len(batch))
