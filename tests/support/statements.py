"""Counting what an app asks its database: the SQL statements sent on an engine while a block runs."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event


@contextmanager
def statements(engine: Engine, *, ignoring: str | None = "audit_log") -> Iterator[list[str]]:
    """Every SQL statement sent on `engine` while the block runs, but those mentioning `ignoring`: by
    default the audit writer's, which flushes earlier requests' entries from its own thread whenever it
    is due (`platform_common.auth.audit`)."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if ignoring is None or ignoring not in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
