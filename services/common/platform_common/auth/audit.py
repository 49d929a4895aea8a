"""The audit log: every mutating request (who, role, what, target, outcome, request id, source address)
appended to the serving service's own `<schema>.audit_log`, which each service publishes read-only as
`<schema>.audit_entries` for oncall-service's `GET /api/v1/audit`.

Entries are buffered and written in batches by one thread (`AuditWriter`), so auditing costs the
request path an append to a list, not a database round trip; the buffer is flushed at shutdown.
"""

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platform_common.auth.principal import Principal
from platform_common.logs import current_request_id

logger = logging.getLogger(__name__)

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
AUDITED_PREFIXES = ("/api/", "/v2/")
FLUSH_SECONDS = 0.5
_MAX_BUFFER = 100_000
# Each column and its type: a flush is one INSERT of the batch's columns as arrays (unnest), however many entries.
_COLUMNS = {
    "at": "timestamptz",
    "actor": "text",
    "actor_kind": "text",
    "role": "text",
    "method": "text",
    "path": "text",
    "status": "integer",
    "target": "text",
    "request_id": "text",
    "source": "text",
}


class AuditWriter:
    def __init__(self, engine: Engine, schema: str, *, flush_seconds: float = FLUSH_SECONDS) -> None:
        self._engine = engine
        arrays = ", ".join(f"CAST(:{column} AS {kind}[])" for column, kind in _COLUMNS.items())
        self._insert = text(f"INSERT INTO {schema}.audit_log ({', '.join(_COLUMNS)}) SELECT * FROM unnest({arrays})")
        self._flush_seconds = flush_seconds
        self._buffer: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # one flush at a time: a flush returns once earlier entries are written
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            if len(self._buffer) < _MAX_BUFFER:
                self._buffer.append(entry)

    def flush(self) -> int:
        """Write the entries added so far; returns how many this call wrote. When it returns, every entry
        added before the call is written, also one the background flush was writing meanwhile (or kept,
        if the database is down)."""
        with self._flushing:
            return self._flush()

    def _flush(self) -> int:
        with self._lock:
            batch, self._buffer = self._buffer, []
        if not batch:
            return 0
        try:
            with self._engine.begin() as connection:
                connection.execute(self._insert, {column: [entry[column] for entry in batch] for column in _COLUMNS})
        except Exception as exc:  # noqa: BLE001 - the database is down: keep the entries for the next flush
            logger.warning("audit flush failed, %d entries kept: %s", len(batch), type(exc).__name__)
            with self._lock:
                self._buffer[:0] = batch[: _MAX_BUFFER - len(self._buffer)]
            return 0
        return len(batch)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._flush_seconds):
            self.flush()


REDACTED = "[secret]"


def _secret_params(scope: Scope) -> dict[str, str]:
    """Path parameters that are credentials (a signed page link's token): never written to the log."""
    return {key: str(value) for key, value in (scope.get("path_params") or {}).items() if key == "token"}


def _target(scope: Scope) -> str | None:
    params = {**(scope.get("path_params") or {}), **dict.fromkeys(_secret_params(scope), REDACTED)}
    return ",".join(f"{key}={value}" for key, value in params.items()) or None


def _path(scope: Scope) -> str:
    path = scope["path"]
    for value in _secret_params(scope).values():
        path = path.replace(value, REDACTED)
    return path[:2000]


class AuditMiddleware:
    """Records each mutating API request once its status is known."""

    def __init__(self, app: ASGIApp, writer_of: Any) -> None:
        self.app = app
        self._writer_of = writer_of  # the app, whose state holds the writer once started

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING or not scope["path"].startswith(AUDITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            writer = getattr(self._writer_of.state, "audit", None)
            if writer is not None:
                writer.add(_entry(scope, status))


def _entry(scope: Scope, status: int) -> dict[str, Any]:
    principal: Principal | None = scope.get("state", {}).get("principal")
    client = scope.get("client")
    return {
        "at": datetime.now(UTC),
        "actor": principal.actor() if principal else "unauthenticated",
        "actor_kind": principal.kind if principal else "unauthenticated",
        "role": principal.role.name if principal else None,
        "method": scope["method"],
        "path": _path(scope),
        "status": status,
        "target": _target(scope),
        "request_id": current_request_id(),
        "source": client[0] if client else None,
    }


def create_audit_table(op: Any, schema: str) -> None:
    """Migration step every service shares: its append-only audit table and the view it publishes."""
    op.execute(
        f"""CREATE TABLE {schema}.audit_log (
            id bigserial PRIMARY KEY,
            at timestamptz NOT NULL,
            actor varchar(320) NOT NULL,
            actor_kind varchar(32) NOT NULL,
            role varchar(32),
            method varchar(16) NOT NULL,
            path varchar(2000) NOT NULL,
            status integer NOT NULL,
            target varchar(2000),
            request_id varchar(200),
            source varchar(100))"""
    )
    op.execute(f"CREATE INDEX audit_log_at ON {schema}.audit_log (at DESC)")
    op.execute(f"CREATE INDEX audit_log_actor_at ON {schema}.audit_log (actor, at DESC)")
    op.execute(
        f"""CREATE FUNCTION {schema}.audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$"""
    )
    op.execute(
        f"CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON {schema}.audit_log "
        f"FOR EACH ROW EXECUTE FUNCTION {schema}.audit_log_append_only()"
    )
    op.execute(f"CREATE VIEW {schema}.audit_entries AS SELECT {', '.join(_COLUMNS)} FROM {schema}.audit_log")


def drop_audit_table(op: Any, schema: str) -> None:
    op.execute(f"DROP VIEW IF EXISTS {schema}.audit_entries")
    op.execute(f"DROP TABLE IF EXISTS {schema}.audit_log")
    op.execute(f"DROP FUNCTION IF EXISTS {schema}.audit_log_append_only()")
