"""Retries never duplicate: an alert POSTed again with its Idempotency-Key is stored once (also when
the replays race), and resolution reports clear their flags only once incident-management took them."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from tests.support.apps import incident_management, ingestion_app
from tests.support.servers import free_port, serve_in_thread

ALERT = {"service": "checkout", "severity": "critical", "message": "p99 latency > 2s"}


def stored_alerts(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM alert_ingestion.alerts")).scalar()


def test_a_retried_alert_answers_200_with_the_same_alert_and_stores_nothing(alerts_url, clean_db):
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    first = httpx.post(f"{alerts_url}/api/v1/alerts", json=ALERT, headers=key)
    again = httpx.post(f"{alerts_url}/api/v1/alerts", json=ALERT, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() and first.json()["action"] == "new_incident"
    assert stored_alerts(clean_db) == 1
    other = httpx.post(f"{alerts_url}/api/v1/alerts", json=ALERT, headers={"Idempotency-Key": f"retry-{uuid.uuid4()}"})
    assert other.status_code == 201 and other.json()["alert_id"] != first.json()["alert_id"]


def test_concurrent_replays_store_one_alert(alerts_url, clean_db):
    key = {"Idempotency-Key": "alertmanager-retry-7"}
    with httpx.Client(limits=httpx.Limits(max_connections=20)) as client, ThreadPoolExecutor(20) as pool:
        post = lambda _: client.post(f"{alerts_url}/api/v1/alerts", json=ALERT, headers=key, timeout=60)  # noqa: E731
        responses = list(pool.map(post, range(20)))
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.json()["alert_id"] for r in responses}) == 1
    assert stored_alerts(clean_db) == 1
    with clean_db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM incident_management.incidents")).scalar() == 1


def test_an_idempotency_key_that_is_too_long_is_refused_and_stores_nothing(alerts_url, clean_db):
    response = httpx.post(f"{alerts_url}/api/v1/alerts", json=ALERT, headers={"Idempotency-Key": "k" * 201})
    assert response.status_code == 422
    assert stored_alerts(clean_db) == 0


def webhook(status: str) -> dict:
    alert = {"status": status, "labels": {"alertname": "DiskFull", "service": "storage", "severity": "warning"}, "fingerprint": "d1sk"}
    return {"version": "4", "status": status, "alerts": [alert]}


def _refusing_timeline() -> FastAPI:
    app = FastAPI()
    app.post("/api/v1/incidents/{incident_id}/timeline")(lambda incident_id: JSONResponse({"error": "bug"}, status_code=500))
    return app


def pending_flags(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM alert_ingestion.alerts WHERE resolution_pending")).scalar()


def test_a_refused_resolution_report_keeps_its_flags_and_is_reported_later(database_url, clean_db):
    firing, resolved = webhook("firing"), webhook("resolved")
    port = free_port()
    with incident_management(database_url, port) as incidents_url, serve_in_thread(ingestion_app(database_url, incidents_url)) as url:
        incident_id = httpx.post(f"{url}/api/v1/alerts/alertmanager", json=firing).json()["accepted"][0]["incident_id"]
    app = ingestion_app(database_url, f"http://127.0.0.1:{port}")
    with serve_in_thread(app) as url:
        with serve_in_thread(_refusing_timeline(), port):
            assert httpx.post(f"{url}/api/v1/alerts/alertmanager", json=resolved).json()["resolved"] == 1
            assert app.state.resolution_worker.step() == 0, "incident-management answered 500: not reported"
        assert pending_flags(clean_db) == 1
        with incident_management(database_url, port) as incidents_url:
            assert app.state.resolution_worker.step() == 1
            assert app.state.resolution_worker.step() == 0, "reported once"
            incident = httpx.get(f"{incidents_url}/api/v1/incidents/{incident_id}").json()
    assert pending_flags(clean_db) == 0
    assert incident["status"] == "resolved"
    assert [event["kind"] for event in incident["timeline"]].count("alerts_resolved") == 1
