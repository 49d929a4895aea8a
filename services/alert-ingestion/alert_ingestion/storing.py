"""Storing accepted alerts: the intake's statements on its asynchronous connection pool.

An alert to correlate is stored with the alerts of the other requests that arrive while the stores
under way run, in one statement (`batches.py`: group commit; a lone alert goes at once; `IN_FLIGHT`
stores at a time, so one batch's commit overlaps the next one's gathering and sending). The
statement stores each alert and, when a matching incident exists, attaches it right away; it is
committed before any request of the batch is answered. An alert that conflicts (a firing duplicate of
the source's fingerprint or of a dedup_key, or an Idempotency-Key already used, also within the batch)
stores nothing and its request finds out why (correlation.py). The rows go in the order of their keys,
so two replicas' batches sharing keys wait for each other rather than deadlock; a deadlock all the same
is retried.

The database being unreachable (restarting, every connection busy) is the platform's 503, never a raw
driver error, for every request of the batch.
"""

import asyncio
import json
import logging
from collections.abc import Awaitable
from select import POLLIN, poll
from typing import Any
from uuid import uuid4

import psycopg
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy.engine import make_url

from alert_ingestion.batches import Batches
from platform_common.db import lists_as_binary_arrays
from platform_common.errors import DependencyUnavailable

logger = logging.getLogger(__name__)
BATCH = 200  # alerts per statement at most
# Two at once: 2,311 and 2,324 alerts/s at 32 connections against 2,070 with one (p99 26.5 and 33.3 ms
# against 32.5), and no more CPU per alert (2026-12-02). Three did no better.
IN_FLIGHT = 2
DEADLOCK_RETRIES = 3
# The database refusing an alert's data (validation lets none through that it knows of).
_REFUSED = (psycopg.DataError, psycopg.IntegrityError)

# Given per alert (one array each); `labels` and `details` as JSON text.
_COLUMNS = {
    "id": "uuid",
    "service": "text",
    "severity": "text",
    "message": "text",
    "labels": "text",
    "timestamp": "timestamptz",
    "now": "timestamptz",
    "source": "text",
    "fingerprint": "text",
    "key": "text",
    "dedup_key": "text",
    "integration_id": "uuid",
    "details": "text",
    "routing_rule_id": "uuid",
    "group_key": "text",
    "since": "timestamptz",
}

# Store the alerts and attach each to the newest matching incident of its window, if there is one.
# (psycopg placeholders: this runs on the asynchronous intake pool, not through SQLAlchemy.)
_STORE_AND_ATTACH = f"""
INSERT INTO alert_ingestion.alerts
    (id, service, severity, message, labels, timestamp, received_at, source, fingerprint, idempotency_key,
     dedup_key, integration_id, details, routing_rule_id, group_key, incident_id, status, action, correlated_at)
SELECT a.id, a.service, a.severity, a.message, a.labels::jsonb, a.timestamp, a.now, a.source, a.fingerprint, a.key,
       a.dedup_key, a.integration_id, a.details::jsonb, a.routing_rule_id, a.group_key, c.id,
       CASE WHEN c.id IS NULL THEN 'pending' ELSE 'correlated' END,
       CASE WHEN c.id IS NULL THEN NULL ELSE 'attached_to_existing_incident' END,
       CASE WHEN c.id IS NULL THEN NULL ELSE a.now END
FROM unnest({", ".join(f"%({name})s::{kind}[]" for name, kind in _COLUMNS.items())})
     WITH ORDINALITY AS a({", ".join(_COLUMNS)}, n)
LEFT JOIN LATERAL (
    SELECT id FROM incident_management.correlation_candidates
    WHERE service = a.service AND severity = a.severity AND created_at >= a.since
      AND group_key IS NOT DISTINCT FROM a.group_key
    ORDER BY created_at DESC LIMIT 1
) AS c ON true
ORDER BY a.n
ON CONFLICT DO NOTHING
RETURNING id, incident_id, status, action
"""

# An alert stored without being attached: pending (to correlate), or silenced / dropped (never correlated).
INSERT_UNCORRELATED = """
INSERT INTO alert_ingestion.alerts
    (service, severity, message, labels, timestamp, received_at, source, fingerprint, idempotency_key,
     dedup_key, integration_id, details, routing_rule_id, group_key, silence_id, maintenance_window_id, status)
VALUES (%(service)s, %(severity)s, %(message)s, %(labels)s::jsonb, %(timestamp)s, %(now)s, %(source)s, %(fingerprint)s, %(key)s,
        %(dedup_key)s, %(integration_id)s, %(details)s::jsonb, %(routing_rule_id)s, %(group_key)s, %(silence_id)s,
        %(maintenance_window_id)s, %(status)s)
ON CONFLICT DO NOTHING
RETURNING id, incident_id, status, action
"""


def json_text(value: dict | None) -> str | None:
    """A JSON column's value as the intake statements take it."""
    return None if value is None else json.dumps(value)


class AlertStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool
        self._batches = Batches(self.store_many, size=BATCH, in_flight=IN_FLIGHT)

    async def guard(self, operation: Awaitable[Any]) -> Any:
        """Run an intake statement; the database being unreachable (restarting, every connection busy) is
        a 503 (DependencyUnavailable), never a raw driver error."""
        try:
            return await operation
        except PoolTimeout as exc:
            raise DependencyUnavailable("The database is busy; retry shortly") from exc
        except psycopg.OperationalError as exc:
            logger.warning("database unavailable on the intake path: %s", exc)
            raise DependencyUnavailable("The database is unavailable") from exc

    async def store(self, alert: dict[str, Any]) -> Any:
        """Store an alert to correlate (the `_COLUMNS` but its id): its row (id, incident_id, status,
        action), or None if it conflicts and nothing was stored. One that waited for the pool's timeout
        without being sent (the stores ahead of it are stuck) is not stored: a 503, as a connection
        not found in time is."""
        try:
            stored = await self._batches.submit(alert, queue_seconds=self.pool.timeout)
        except TimeoutError as exc:
            raise DependencyUnavailable("The database is busy; retry shortly") from exc
        if isinstance(stored, _REFUSED):
            raise stored  # this alert's own data was refused (store_many)
        return stored

    async def fetch(self, statement: str, params: dict) -> Any:
        """One statement on the intake pool: its first row, or None."""
        return await self.guard(self._fetch(statement, params))

    async def _fetch(self, statement: str, params: dict) -> Any:
        async with self.pool.connection() as connection:
            return await (await connection.execute(statement, params)).fetchone()

    async def store_many(self, batch: list[dict[str, Any]]) -> list[Any]:
        """`store` for a batch at once: one statement (retried after a deadlock), a result per alert. A
        batch the database refuses for the data of one of its alerts is stored alert by alert, so that
        alert's request alone fails: its result is the error."""
        return await self.guard(self._attempt(batch))

    async def _attempt(self, batch: list[dict[str, Any]]) -> list[Any]:
        for retry in range(DEADLOCK_RETRIES + 1):
            try:
                return await self._store_and_attach(batch)
            except psycopg.errors.DeadlockDetected:
                if retry == DEADLOCK_RETRIES:
                    raise
                logger.warning("storing %d alerts deadlocked with another replica's batch; retrying", len(batch))
            except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn):  # incident-management has not migrated yet
                logger.warning("correlation view missing; %d alerts stored as pending", len(batch))
                return [await self._fetch(INSERT_UNCORRELATED, alert) for alert in batch]
            except _REFUSED:
                if len(batch) == 1:
                    raise
                logger.warning("a batch of %d alerts was refused; storing them one by one", len(batch))
                return [await self._alone(alert) for alert in batch]
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _alone(self, alert: dict[str, Any]) -> Any:
        try:
            (stored,) = await self._store_and_attach([alert])
        except _REFUSED as exc:
            return exc
        return stored

    async def _store_and_attach(self, batch: list[dict[str, Any]]) -> list[Any]:
        ids = [uuid4() for _ in batch]
        ordered = sorted(zip(ids, batch, strict=True), key=lambda pair: _keys(pair[1]))
        arrays: dict[str, list[Any]] = {name: [alert[name] for _, alert in ordered] for name in _COLUMNS if name != "id"}
        arrays["id"] = [alert_id for alert_id, _ in ordered]
        async with self.pool.connection() as connection:
            rows = {row.id: row for row in await (await connection.execute(_STORE_AND_ATTACH, arrays)).fetchall()}
        return [rows.get(alert_id) for alert_id in ids]


def _keys(alert: dict[str, Any]) -> tuple[str, str, str]:
    return alert["key"] or "", alert["dedup_key"] or "", alert["fingerprint"] or ""


def _readable(fd: int) -> bool:
    """Whether the socket has something to read right now (poll, not select: any descriptor number)."""
    poller = poll()
    poller.register(fd, POLLIN)
    return bool(poller.poll(0))


class DropCheck:
    """The intake pool's connection check, with no round trip in the common case: an idle connection has
    nothing to read unless the server dropped it (a restart sends a termination notice, then EOF), and
    only then is it pinged; one that fails is replaced by the pool instead of failing a request. (The
    stock ping on every checkout halved the intake rate in a tight loop.)

    A dropped connection has the pool check every idle one at once: a restart drops them all, and the
    pool waits 1, 2, 4 s… after each broken one it finds when handing one out, so found one at a time
    (one batch of stores at a time asks) they held up the stores for 10 s."""

    def __init__(self) -> None:
        self.pool: AsyncConnectionPool | None = None
        self._checking: asyncio.Task[None] | None = None

    async def __call__(self, connection: psycopg.AsyncConnection) -> None:
        if connection.closed or _readable(connection.fileno()):
            if self.pool is not None and (self._checking is None or self._checking.done()):
                self._checking = asyncio.create_task(self._check_all(self.pool))
            await AsyncConnectionPool.check_connection(connection)

    @staticmethod
    async def _check_all(pool: AsyncConnectionPool) -> None:
        try:
            await pool.check()  # the broken ones are replaced as soon as the database takes connections
        except Exception:
            logger.warning("checking the intake connections failed", exc_info=True)


async def _configure(connection: psycopg.AsyncConnection) -> None:
    lists_as_binary_arrays(connection)


def intake_pool(database_url: str, size: int) -> AsyncConnectionPool:
    """Autocommit connections for the intake statements, no thread hop. Each connection is checked when
    it is taken, so after a database restart dead ones are replaced instead of failing requests. Opened
    and closed by the app's lifespan."""
    conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    check = DropCheck()
    check.pool = AsyncConnectionPool(
        conninfo,
        min_size=size,
        max_size=size,
        open=False,
        timeout=10,
        check=check,
        configure=_configure,
        kwargs={"autocommit": True, "row_factory": namedtuple_row},
    )
    return check.pool
