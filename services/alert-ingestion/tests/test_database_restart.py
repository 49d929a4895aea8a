"""PostgreSQL restarting under traffic: every request is answered 2xx or 503 (never a 500 or a reset
connection), the services recover without a restart, and every alert answered 201 is stored.

The session database is shared, so this test restarts a throwaway server of its own."""

import shutil
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from platform_common.db import create_db_engine
from platform_local.postgres import LocalPostgres
from tests.support import database
from tests.support.apps import incident_management, ingestion_app
from tests.support.servers import free_port, serve_in_thread

ROOT = Path(__file__).resolve().parents[3]
ALERT = {"service": "checkout", "severity": "critical"}


@pytest.fixture
def own_postgres() -> Iterator[tuple[LocalPostgres, str]]:
    root = Path(tempfile.mkdtemp(prefix="platform-restart-pg-"))
    server = LocalPostgres(root, free_port(), durable=False)
    server.start()
    try:
        url = server.create_database("restart_test", init_sql=ROOT / "database" / "init.sql")
        engine = create_db_engine(url, pool_size=1)
        database.migrate_all(engine)
        engine.dispose()
        yield server, url
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


class Traffic:
    """Clients posting alerts and reading lists until told to stop; records every answer."""

    def __init__(self, alerts_url: str, incidents_url: str) -> None:
        self.alerts_url, self.incidents_url = alerts_url, incidents_url
        self.answers: list[int | str] = []
        self.accepted: list[str] = []
        self.warmed_up = threading.Event()
        self.stop = threading.Event()

    def run(self, worker: int) -> None:
        with httpx.Client(timeout=60) as client:
            sequence = 0
            while not self.stop.is_set():
                sequence += 1
                self._send(client, "POST", f"{self.alerts_url}/api/v1/alerts", json={**ALERT, "message": f"w{worker} #{sequence}"})
                self._send(client, "GET", f"{self.alerts_url}/api/v1/alerts", params={"limit": 1})
                self._send(client, "GET", f"{self.incidents_url}/api/v1/incidents", params={"limit": 1})
                if len(self.answers) >= 30:
                    self.warmed_up.set()

    def _send(self, client: httpx.Client, method: str, url: str, **kwargs) -> None:
        try:
            response = client.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            self.answers.append(f"{type(exc).__name__}")
            return
        self.answers.append(response.status_code)
        if method == "POST" and response.status_code == 201:
            self.accepted.append(response.json()["alert_id"])


def test_a_database_restart_is_answered_2xx_or_503_and_the_services_recover(own_postgres):
    server, url = own_postgres
    with incident_management(url) as incidents_url:
        app = ingestion_app(url, incidents_url)
        with serve_in_thread(app) as alerts_url:
            app.state.correlator.alert_store.pool.timeout = 3  # a request waiting for the database gives up (503) sooner
            traffic = Traffic(alerts_url, incidents_url)
            workers = [threading.Thread(target=traffic.run, args=(n,)) for n in range(3)]
            for worker in workers:
                worker.start()
            try:
                assert traffic.warmed_up.wait(60), "no traffic before the restart"
                server.stop()
                server.start()
                recovered = [httpx.post(f"{alerts_url}/api/v1/alerts", json={**ALERT, "message": "after"}, timeout=60) for _ in range(10)]
            finally:
                traffic.stop.set()
                for worker in workers:
                    worker.join(60)
            after = [
                httpx.post(f"{alerts_url}/api/v1/alerts", json={**ALERT, "message": "recovered"}, timeout=60).status_code,
                httpx.get(f"{alerts_url}/api/v1/alerts", timeout=60).status_code,
                httpx.get(f"{incidents_url}/api/v1/incidents", timeout=60).status_code,
            ]
            app.state.correlator.correlate_pending()
    answers = traffic.answers + [r.status_code for r in recovered]
    assert set(answers) <= {200, 201, 503}, sorted({str(a) for a in answers})
    assert after == [201, 200, 200], "recovered without a restart"
    print(f"answers across the restart: {dict(Counter(answers))}")
    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            stored = set(connection.execute(text("SELECT id::text FROM alert_ingestion.alerts")).scalars())
            pending = connection.execute(text("SELECT count(*) FROM alert_ingestion.alerts WHERE status = 'pending'")).scalar()
    finally:
        engine.dispose()
    accepted = set(traffic.accepted) | {r.json()["alert_id"] for r in recovered if r.status_code == 201}
    assert accepted <= stored, "every 201 is a stored alert"
    assert pending == 0, "alerts left pending by the restart are correlated once the database is back"


def test_the_first_alert_after_a_restart_is_accepted(own_postgres):
    """The intake pool notices the connections the restart dropped and replaces them before use."""
    server, url = own_postgres
    app = ingestion_app(url, f"http://127.0.0.1:{free_port()}", intake_pool_size=4)
    with serve_in_thread(app) as alerts_url:
        assert httpx.post(f"{alerts_url}/api/v1/alerts", json={**ALERT, "message": "before"}).status_code == 201
        server.stop()
        server.start()
        first = [httpx.post(f"{alerts_url}/api/v1/alerts", json={**ALERT, "message": f"after {i}"}, timeout=60) for i in range(4)]
    assert [response.status_code for response in first] == [201] * 4, first[0].text
