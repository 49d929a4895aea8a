"""The guarantees people rely on at 3 a.m.: concurrent identical alerts open exactly one incident,
every 201 is a stored row, and alerts accepted while incident-management is down are kept and
correlated once it is back."""

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import text

from tests.support.apps import incident_management, ingestion_app
from tests.support.servers import free_port, serve_in_thread

ALERT = {"service": "checkout", "severity": "critical", "message": "p99 latency > 2s"}


def test_fifty_identical_alerts_at_once_open_exactly_one_incident(alerts_url, clean_db):
    with httpx.Client(limits=httpx.Limits(max_connections=50)) as client, ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(lambda _: client.post(f"{alerts_url}/api/v1/alerts", json=ALERT, timeout=60), range(50)))
    assert [r.status_code for r in responses] == [201] * 50
    bodies = [r.json() for r in responses]
    assert len({b["incident_id"] for b in bodies}) == 1
    assert sorted(b["action"] for b in bodies).count("new_incident") == 1
    with clean_db.connect() as connection:
        incidents = connection.execute(text("SELECT count(*) FROM incident_management.incidents WHERE service = 'checkout'")).scalar()
        stored = set(connection.execute(text("SELECT id::text FROM alert_ingestion.alerts WHERE status = 'correlated'")).scalars())
    assert incidents == 1
    assert stored == {b["alert_id"] for b in bodies}


def test_alerts_accepted_while_incident_management_is_down_are_correlated_when_it_returns(database_url, clean_db):
    port = free_port()
    app = ingestion_app(database_url, f"http://127.0.0.1:{port}")
    with serve_in_thread(app) as alerts_url:
        accepted = [httpx.post(f"{alerts_url}/api/v1/alerts", json={**ALERT, "message": f"alert {i}"}).json() for i in range(3)]
        assert [(a["status"], a["action"], a["incident_id"]) for a in accepted] == [("pending", "queued", None)] * 3
        stored = httpx.get(f"{alerts_url}/api/v1/alerts/{accepted[0]['alert_id']}").json()
        assert stored["status"] == "pending" and stored["incident_id"] is None
        assert app.state.correlator.correlate_pending() == 0, "nothing to do while the peer is down"

        with incident_management(database_url, port):
            assert app.state.correlator.correlate_pending() == 3
            after = [httpx.get(f"{alerts_url}/api/v1/alerts/{a['alert_id']}").json() for a in accepted]
    assert {a["status"] for a in after} == {"correlated"}
    assert len({a["incident_id"] for a in after}) == 1
    assert [a["action"] for a in after] == ["new_incident", "attached_to_existing_incident", "attached_to_existing_incident"]
    with clean_db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM incident_management.incidents")).scalar() == 1


def test_alerts_are_stored_even_before_incident_management_ever_ran(database_url, clean_db):
    """The correlation view does not exist yet: the alert is kept as pending, not refused."""
    with clean_db.begin() as connection:
        connection.execute(text("ALTER VIEW incident_management.correlation_candidates RENAME TO correlation_candidates_hidden"))
    try:
        with serve_in_thread(ingestion_app(database_url, f"http://127.0.0.1:{free_port()}")) as alerts_url:
            response = httpx.post(f"{alerts_url}/api/v1/alerts", json=ALERT)
    finally:
        with clean_db.begin() as connection:
            connection.execute(text("ALTER VIEW incident_management.correlation_candidates_hidden RENAME TO correlation_candidates"))
    assert response.status_code == 201 and response.json()["status"] == "pending"


def test_a_refused_incident_leaves_the_alert_visibly_pending(database_url, clean_db):
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    refusing = FastAPI()
    refusing.post("/api/v1/incidents")(lambda: JSONResponse({"error": "no"}, status_code=400))
    refusing.post("/api/v1/incidents/batch")(lambda: JSONResponse({"error": "no"}, status_code=400))
    with serve_in_thread(refusing) as refusing_url:
        app = ingestion_app(database_url, refusing_url)
        with serve_in_thread(app) as alerts_url:
            accepted = httpx.post(f"{alerts_url}/api/v1/alerts", json=ALERT).json()
            assert accepted["status"] == "pending"
            assert app.state.correlator.correlate_pending() == 0
    with clean_db.connect() as connection:
        row = connection.execute(text("SELECT status, attempts, last_error FROM alert_ingestion.alerts")).one()
    assert row.status == "pending" and row.attempts == 2 and "400" in row.last_error


def test_a_saturated_intake_pool_answers_503_not_500(database_url, clean_db):
    """The only intake connection is stuck behind a table lock: the next alert is told to retry (503)."""
    app = ingestion_app(database_url, f"http://127.0.0.1:{free_port()}", intake_pool_size=1)
    with serve_in_thread(app) as alerts_url, clean_db.connect() as locker, ThreadPoolExecutor(1) as pool:
        app.state.correlator.alert_store.pool.timeout = 0.5
        locker.execute(text("LOCK TABLE alert_ingestion.alerts IN EXCLUSIVE MODE"))
        first = pool.submit(httpx.post, f"{alerts_url}/api/v1/alerts", json=ALERT, timeout=30)
        blocked = (
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO alert_ingestion.alerts%'"
        )
        with clean_db.connect() as watcher:
            for _ in range(10_000):
                if watcher.execute(text(blocked)).scalar():
                    break
                watcher.rollback()
            else:
                raise AssertionError("the first alert never blocked on the table lock")
        second = httpx.post(f"{alerts_url}/api/v1/alerts", json=ALERT, timeout=30)
        locker.rollback()
        assert first.result().status_code == 201
    assert second.status_code == 503 and second.json()["error"]["code"] == "dependency_unavailable"
