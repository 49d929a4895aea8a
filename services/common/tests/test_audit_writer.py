"""The audit writer's flush: when it returns, every entry added before it is in the table, also one
the background flush was writing at that moment."""

import threading
from datetime import UTC, datetime

from sqlalchemy import Engine, text

from platform_common.auth.audit import AuditWriter
from platform_common.db import create_db_engine

WAITING_INSERT = (
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO alert_ingestion.audit_log%'"
)


def entry(path: str) -> dict:
    who = {"actor": "tester", "actor_kind": "user", "role": "admin"}
    request = {"method": "POST", "path": path, "status": 201, "target": None, "request_id": None, "source": None}
    return {"at": datetime.now(UTC), **who, **request}


def written(engine: Engine, path: str) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM alert_ingestion.audit_log WHERE path = :path"), {"path": path}).scalar()


def test_a_flush_returns_only_once_the_flush_under_way_has_written_its_entries(database_url, clean_db):
    engine = create_db_engine(database_url, pool_size=3)
    writer = AuditWriter(engine, "alert_ingestion", flush_seconds=3600)
    writer.add(entry("/api/v1/first"))
    seen_after_flush: list[int] = []
    try:
        with clean_db.connect() as locker:
            locker.execute(text("LOCK TABLE alert_ingestion.audit_log IN EXCLUSIVE MODE"))
            background = threading.Thread(target=writer.flush)  # as the writer's own thread would
            background.start()
            with clean_db.connect() as watcher:
                while not watcher.execute(text(WAITING_INSERT)).scalar():
                    watcher.rollback()
            caller = threading.Thread(target=lambda: (writer.flush(), seen_after_flush.append(written(engine, "/api/v1/first"))))
            caller.start()
            caller.join(1.0)  # without the fix it has returned by now, having found nothing to write
            locker.rollback()
        caller.join(30)
        background.join(30)
    finally:
        engine.dispose()
    assert seen_after_flush == [1]
