"""Storing alerts in batches (`alert_ingestion.storing`) on the real database: each alert of a batch
is stored, attached or refused as it would be alone, also when the batch holds its own duplicates."""

import asyncio
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from alert_ingestion.storing import AlertStore, DropCheck, intake_pool
from platform_common.clock import utcnow


def alert(service: str, **changes) -> dict:
    now = utcnow()
    given = {"service": service, "severity": "critical", "message": "down", "labels": "{}", "timestamp": now, "now": now}
    given |= {"source": "api", "fingerprint": None, "key": None, "dedup_key": None, "integration_id": None, "details": None}
    given |= {"routing_rule_id": None, "group_key": None, "since": now - timedelta(minutes=5), "status": "pending"}
    given |= {"silence_id": None, "maintenance_window_id": None}
    return given | changes


async def store_batch(database_url: str, batch: list[dict]) -> list:
    pool = intake_pool(database_url, 2)
    await pool.open()
    try:
        return await AlertStore(pool).store_many(batch)
    finally:
        await pool.close()


def test_a_batch_stores_each_alert_once_and_refuses_its_own_duplicates(database_url, clean_db):
    batch = [
        alert("checkout", key="retry-1"),
        alert("checkout", key="retry-1"),  # the same Idempotency-Key within the batch
        alert("search", dedup_key="disk-full"),
        alert("search", dedup_key="disk-full"),  # the same firing dedup_key
        alert("search", dedup_key="disk-full", integration_id=None, key="other"),
        alert("billing", labels='{"team": "payments"}', details='{"runbook": "r"}'),
    ]
    results = asyncio.run(store_batch(database_url, batch))
    stored = [result is not None for result in results]
    assert stored == [True, False, True, False, False, True]
    assert all(result.status == "pending" and result.incident_id is None for result in results if result)
    with clean_db.connect() as connection:
        rows = connection.execute(text("SELECT id, service, labels, details FROM alert_ingestion.alerts ORDER BY service")).all()
    assert [row.service for row in rows] == ["billing", "checkout", "search"]
    assert rows[0].labels == {"team": "payments"} and rows[0].details == {"runbook": "r"}
    assert {row.id for row in rows} == {result.id for result in results if result}


def test_an_alert_joins_the_open_incident_of_its_service_in_the_same_statement(database_url, clean_db):
    with clean_db.begin() as connection:
        incident_id = connection.execute(
            text(
                "INSERT INTO incident_management.incidents (title, service, severity, status, created_at, updated_at) "
                "VALUES ('down', 'checkout', 'critical', 'open', now(), now()) RETURNING id"
            )
        ).scalar()
    joined, alone = asyncio.run(store_batch(database_url, [alert("checkout"), alert("checkout", severity="low")]))
    assert (joined.incident_id, joined.status, joined.action) == (incident_id, "correlated", "attached_to_existing_incident")
    assert (alone.incident_id, alone.status) == (None, "pending")


def test_a_batch_that_deadlocked_with_another_replicas_batch_is_stored_on_retry(database_url, clean_db, monkeypatch):
    attempts = []
    real = AlertStore._store_and_attach

    async def deadlocking_once(store: AlertStore, batch: list[dict]) -> list:
        attempts.append(len(batch))
        if len(attempts) == 1:
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        return await real(store, batch)

    monkeypatch.setattr(AlertStore, "_store_and_attach", deadlocking_once)
    (stored,) = asyncio.run(store_batch(database_url, [alert("checkout")]))
    assert attempts == [1, 1] and stored is not None
    with clean_db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alert_ingestion.alerts")).scalar() == 1


def test_a_dropped_connection_has_the_pool_check_all_its_idle_connections_at_once(database_url):
    """A restart drops every intake connection; the pool would find them one per checkout, waiting 1, 2,
    4 s… after each, so the first one found dropped has it check all the others right away."""
    checks = []

    class Pool:
        async def check(self) -> None:
            checks.append("all")

    async def scenario() -> None:
        drop_check = DropCheck()
        drop_check.pool = Pool()
        async with await psycopg.AsyncConnection.connect(conninfo(database_url), autocommit=True) as healthy:
            await drop_check(healthy)  # nothing to read: no ping, no pool check
            assert checks == []
        dropped = await psycopg.AsyncConnection.connect(conninfo(database_url), autocommit=True)
        async with await psycopg.AsyncConnection.connect(conninfo(database_url), autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", [dropped.info.backend_pid])
        with pytest.raises(psycopg.OperationalError):
            for _ in range(1000):  # until the termination notice has arrived
                await drop_check(dropped)
                await asyncio.sleep(0.01)
        await asyncio.sleep(0)
        assert checks == ["all"]
        await dropped.close()

    asyncio.run(scenario())


def conninfo(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_an_alert_whose_data_the_database_refuses_fails_alone_not_its_batch(database_url, clean_db):
    too_long = alert("x" * 300)  # wider than the column: validation refuses it before it ever gets here
    good, refused = asyncio.run(store_batch(database_url, [alert("checkout"), too_long]))
    assert good is not None and good.status == "pending"
    assert isinstance(refused, psycopg.errors.StringDataRightTruncation)
    with clean_db.connect() as connection:
        assert connection.execute(text("SELECT service FROM alert_ingestion.alerts")).scalars().all() == ["checkout"]

    async def requests_arriving_together() -> None:
        pool = intake_pool(database_url, 1)
        await pool.open()
        try:
            store = AlertStore(pool)
            fine, refused = asyncio.create_task(store.store(alert("search"))), asyncio.create_task(store.store(too_long))
            assert (await fine).status == "pending"
            with pytest.raises(psycopg.errors.StringDataRightTruncation):
                await refused
        finally:
            await pool.close()

    asyncio.run(requests_arriving_together())
