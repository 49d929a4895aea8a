"""Heartbeats over real HTTP next to a real incident-management, with the monitor's clock moved instead
of waiting: a miss opens one incident (however many replicas look), a ping resolves it; the ping URL's
secret is stored only as a digest; bad input changes nothing."""

import threading
from datetime import timedelta

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from alert_ingestion.heartbeats.monitor import HeartbeatMonitor
from platform_common.auth.credentials import digest
from platform_common.clock import utcnow
from tests.support.apps import ingestion_app
from tests.support.servers import serve_in_thread

BEAT = {"name": "nightly-backup", "service": "backup", "interval_seconds": 5, "grace_seconds": 5}


@pytest.fixture
def ingestion(database_url, incidents_url):
    app = ingestion_app(database_url, incidents_url)
    with serve_in_thread(app) as url:
        yield app, url


def monitor(app, after_seconds: float) -> HeartbeatMonitor:
    """The app's monitor with its clock `after_seconds` ahead of now."""
    loop = app.state.heartbeat_monitor.loop
    return HeartbeatMonitor(app.state.engine, app.state.correlator, clock=lambda: utcnow() + timedelta(seconds=after_seconds), loop=loop)


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_create_returns_the_ping_url_once_and_stores_only_its_digest(ingestion, clean_db):
    _, url = ingestion
    created = httpx.post(f"{url}/api/v1/heartbeats", json=BEAT)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["state"] == "up" and body["last_ping_at"] is None and body["severity"] == "critical"
    assert body["ping_url"].startswith(f"{url}/api/v1/heartbeats/{body['id']}/ping?token=iph_")
    secret = body["ping_url"].split("token=")[1]
    with clean_db.connect() as connection:
        stored = connection.execute(text("SELECT secret_hash FROM alert_ingestion.heartbeats")).scalar_one()
    assert stored == digest(secret) and secret not in stored
    listed = httpx.get(f"{url}/api/v1/heartbeats")
    assert listed.headers["x-total-count"] == "1" and "ping_url" not in listed.json()[0]
    assert "ping_url" not in httpx.get(f"{url}/api/v1/heartbeats/{body['id']}").json()

    pinged = httpx.get(body["ping_url"])
    assert pinged.status_code == 200 and pinged.json()["state"] == "up" and pinged.json()["last_ping_at"] is not None
    assert httpx.post(body["ping_url"], json={"any": "body, e.g. Alertmanager's"}).status_code == 200


def test_a_missed_heartbeat_opens_one_incident_and_the_next_ping_resolves_it(ingestion, incidents_url):
    app, url = ingestion
    created = httpx.post(f"{url}/api/v1/heartbeats", json=BEAT).json()
    missed_before = sample("heartbeats_missed_total")
    assert monitor(app, 9).check() == 0, "late, not yet down"
    assert httpx.get(f"{url}/api/v1/heartbeats/{created['id']}").json()["state"] == "up"

    replicas = [monitor(app, 11) for _ in range(4)]
    claims: list[int] = []
    threads = [threading.Thread(target=lambda m=m: claims.append(m.check())) for m in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claims) == [0, 0, 0, 1], "one replica claims the miss"
    assert monitor(app, 30).check() == 0, "a heartbeat that is down is not missed again"
    assert sample("heartbeats_missed_total") == missed_before + 1
    assert sample("heartbeats_down") == 1

    down = httpx.get(f"{url}/api/v1/heartbeats/{created['id']}").json()
    assert down["state"] == "down" and down["incident_id"] is not None
    alert = httpx.get(f"{url}/api/v1/alerts/{down['alert_id']}").json()
    assert (alert["message"], alert["service"], alert["severity"], alert["source"]) == (
        "Heartbeat nightly-backup missed",
        "backup",
        "critical",
        "heartbeat",
    )
    assert alert["status"] == "correlated" and alert["incident_id"] == down["incident_id"]
    incident = httpx.get(f"{incidents_url}/api/v1/incidents/{down['incident_id']}").json()
    assert (incident["service"], incident["status"]) == ("backup", "open")
    assert httpx.get(f"{incidents_url}/api/v1/incidents").headers["x-total-count"] == "1"

    up = httpx.post(created["ping_url"])
    assert up.status_code == 200 and up.json()["state"] == "up" and up.json()["alert_id"] is None
    assert httpx.get(f"{url}/api/v1/alerts/{down['alert_id']}").json()["resolved_at"] is not None
    app.state.resolution_worker.run_once()
    assert httpx.get(f"{incidents_url}/api/v1/incidents/{down['incident_id']}").json()["status"] == "resolved"
    assert sample("heartbeats_down") == 0

    assert monitor(app, 11).check() == 1, "the next miss is a new alert"
    again = httpx.get(f"{url}/api/v1/heartbeats/{created['id']}").json()
    assert again["alert_id"] != down["alert_id"] and again["incident_id"] != down["incident_id"]


def test_a_miss_while_incident_management_is_down_stays_pending_then_opens(database_url, clean_db, incidents_url):
    from tests.support.apps import unreachable_url

    app = ingestion_app(database_url, unreachable_url())
    with serve_in_thread(app) as url:
        created = httpx.post(f"{url}/api/v1/heartbeats", json=BEAT).json()
        assert monitor(app, 11).check() == 1
        down = httpx.get(f"{url}/api/v1/heartbeats/{created['id']}").json()
        assert down["state"] == "down" and down["incident_id"] is None
        assert httpx.get(f"{url}/api/v1/alerts/{down['alert_id']}").json()["status"] == "pending", "visibly pending"
    app = ingestion_app(database_url, incidents_url)
    with serve_in_thread(app) as url:
        app.state.workers[0].run_once()  # the pending-alerts cycle
        assert httpx.get(f"{url}/api/v1/heartbeats/{created['id']}").json()["incident_id"] is not None


def test_deleting_a_down_heartbeat_resolves_its_alert(ingestion):
    app, url = ingestion
    created = httpx.post(f"{url}/api/v1/heartbeats", json=BEAT).json()
    monitor(app, 11).check()
    alert_id = httpx.get(f"{url}/api/v1/heartbeats/{created['id']}").json()["alert_id"]
    assert httpx.delete(f"{url}/api/v1/heartbeats/{created['id']}").status_code == 204
    assert httpx.get(f"{url}/api/v1/heartbeats/{created['id']}").status_code == 404
    assert httpx.delete(f"{url}/api/v1/heartbeats/{created['id']}").status_code == 404
    assert httpx.get(f"{url}/api/v1/alerts/{alert_id}").json()["resolved_at"] is not None
    assert httpx.post(created["ping_url"]).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {},
        {**BEAT, "name": " "},
        {**BEAT, "interval_seconds": 0},
        {**BEAT, "interval_seconds": "5"},
        {**BEAT, "grace_seconds": -1},
        {**BEAT, "interval_seconds": 32 * 86400},
        {**BEAT, "severity": "urgent"},
        {**BEAT, "service": "x" * 201},
        {**BEAT, "unknown": 1},
    ],
)
def test_invalid_heartbeats_are_422_and_store_nothing(ingestion, body):
    _, url = ingestion
    answer = httpx.post(f"{url}/api/v1/heartbeats", json=body)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "validation_error"
    assert httpx.get(f"{url}/api/v1/heartbeats").json() == []


def test_a_second_heartbeat_with_the_same_name_is_409(ingestion):
    _, url = ingestion
    assert httpx.post(f"{url}/api/v1/heartbeats", json=BEAT).status_code == 201
    assert httpx.post(f"{url}/api/v1/heartbeats", json={**BEAT, "service": "other"}).status_code == 409
    assert httpx.get(f"{url}/api/v1/heartbeats").headers["x-total-count"] == "1"


def test_a_miss_during_its_services_maintenance_window_is_silenced_and_pages_nobody(ingestion, incidents_url):
    app, url = ingestion
    window = {
        "service": "backup",
        "kind": "once",
        "starts_at": utcnow().isoformat(),
        "ends_at": (utcnow() + timedelta(hours=1)).isoformat(),
    }
    window_id = httpx.post(f"{url}/api/v1/maintenance-windows", json=window).json()["id"]
    httpx.post(f"{url}/api/v1/heartbeats", json=BEAT)
    assert monitor(app, 11).check() == 1
    stored = httpx.get(f"{url}/api/v1/alerts", params={"service": "backup"}).json()
    assert [(alert["status"], alert["maintenance_window_id"]) for alert in stored] == [("silenced", window_id)]
    assert httpx.get(f"{incidents_url}/api/v1/incidents", params={"service": "backup"}).json() == []
