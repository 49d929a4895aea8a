"""A slow oncall-service must not starve incident-management: opening an incident asks it for the
primary with no database connection held, so acknowledgements and lists keep answering."""

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi import FastAPI

from tests.support.apps import incident_management
from tests.support.servers import serve_in_thread

POOL_SIZE = 2


class SlowOnCall:
    """An on-call directory that answers only when the test releases it."""

    def __init__(self) -> None:
        self.asked = threading.Semaphore(0)
        self.release = threading.Event()

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/api/v1/oncall/current")
        def current(team: str):
            self.asked.release()
            self.release.wait(60)
            return {"team": team, "primary": {"name": "alice", "email": "alice@example.com"}}

        return app


def test_acknowledgements_and_lists_answer_while_oncall_service_is_slow(database_url, clean_db):
    slow = SlowOnCall()
    with (
        serve_in_thread(slow.app()) as oncall_url,
        incident_management(database_url, oncall_service_url=oncall_url, db_pool_size=POOL_SIZE, http_timeout_seconds=60) as url,
        ThreadPoolExecutor(POOL_SIZE) as pool,
    ):
        existing = httpx.post(
            f"{url}/api/v1/incidents", json={"title": "db down", "service": "db", "severity": "high", "assigned_to": "bob"}
        )
        assert existing.status_code == 201
        # As many incidents being opened as the pool has connections, each waiting for oncall-service.
        opening = [
            pool.submit(
                httpx.post,
                f"{url}/api/v1/incidents",
                json={"title": f"checkout {i}", "service": "checkout", "severity": "critical"},
                headers={"Idempotency-Key": f"slow-{i}"},
                timeout=60,
            )
            for i in range(POOL_SIZE)
        ]
        try:
            for _ in range(POOL_SIZE):
                assert slow.asked.acquire(timeout=30), "incident-management never asked oncall-service"
            acknowledged = httpx.patch(f"{url}/api/v1/incidents/{existing.json()['id']}", json={"status": "acknowledged"}, timeout=30)
            listed = httpx.get(f"{url}/api/v1/incidents", timeout=30)
        finally:
            slow.release.set()
        opened = [future.result() for future in opening]
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["status"] == "acknowledged"
    assert listed.status_code == 200 and listed.headers["x-total-count"] == "1"
    assert [response.status_code for response in opened] == [201] * POOL_SIZE
    assert {response.json()["assigned_to"] for response in opened} == {"alice"}
