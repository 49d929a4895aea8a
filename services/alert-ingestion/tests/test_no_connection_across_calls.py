"""Correlation holds no database connection while it asks incident-management: with a slow peer and a
one-connection pool, alert lists and reads keep answering, and the alert is correlated once it answers."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from tests.support.apps import ingestion_app
from tests.support.servers import serve_in_thread

ALERT = {"service": "checkout", "severity": "critical", "message": "p99 latency > 2s"}


class SlowIncidentManagement:
    """Opens incidents only when the test releases it."""

    def __init__(self) -> None:
        self.asked = threading.Semaphore(0)
        self.release = threading.Event()
        self.incident_id = str(uuid.uuid4())

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/v1/incidents/batch")
        def open_incidents():
            self.asked.release()
            self.release.wait(60)
            return JSONResponse([{"incident": {"id": self.incident_id}, "action": "new_incident", "replayed": False}])

        return app


def test_reads_answer_while_incident_management_is_slow(database_url, clean_db):
    slow = SlowIncidentManagement()
    with serve_in_thread(slow.app()) as incidents_url:
        app = ingestion_app(database_url, incidents_url, db_pool_size=1, http_timeout_seconds=60)
        with serve_in_thread(app) as alerts_url, ThreadPoolExecutor(1) as pool:
            sent = pool.submit(httpx.post, f"{alerts_url}/api/v1/alerts", json=ALERT, timeout=60)
            try:
                assert slow.asked.acquire(timeout=30), "alert-ingestion never asked incident-management"
                listed = httpx.get(f"{alerts_url}/api/v1/alerts", timeout=30)
            finally:
                slow.release.set()
            accepted = sent.result()
            stored = httpx.get(f"{alerts_url}/api/v1/alerts/{accepted.json()['alert_id']}").json()
    assert listed.status_code == 200, listed.text
    assert [alert["status"] for alert in listed.json()] == ["pending"], "visibly pending while incident-management thinks"
    assert accepted.status_code == 201
    assert accepted.json() == {**accepted.json(), "incident_id": slow.incident_id, "status": "correlated", "action": "new_incident"}
    assert stored["incident_id"] == slow.incident_id
