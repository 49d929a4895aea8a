"""Alert retention over real HTTP with the real incident-management: alerts received longer ago than
ALERT_RETENTION_DAYS are removed by the app's own retention worker, except those still pending, still
firing under a dedup key, or whose resolution is not yet reported; incidents stay."""

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from alert_ingestion.config import Settings
from alert_ingestion.retention import ALERTS
from platform_common.retention import RetentionWorker
from tests.support.apps import ingestion_app, unreachable_url
from tests.support.servers import serve_in_thread

ALERT = {"service": "checkout", "severity": "critical", "message": "p99 latency > 2s"}


@pytest.fixture
def ingestion(database_url, incidents_url):
    app = ingestion_app(database_url, incidents_url, alert_retention_days=30)
    with serve_in_thread(app) as url:
        yield app, url


def retention(app) -> RetentionWorker:
    [worker] = [w for w in app.state.workers if isinstance(w, RetentionWorker)]
    return worker


def post(url: str, **changes) -> dict:
    response = httpx.post(f"{url}/api/v1/alerts", json={**ALERT, **changes})
    assert response.status_code in (200, 201), response.text
    return response.json()


def backdate(db, alert_ids: list[str], days: int) -> None:
    """As if these alerts had been received `days` earlier."""
    with db.begin() as connection:
        connection.execute(
            text("UPDATE alert_ingestion.alerts SET received_at = received_at - make_interval(days => :days) WHERE id::text = ANY(:ids)"),
            {"days": days, "ids": alert_ids},
        )


def stored(url: str, alert_id: str) -> int:
    return httpx.get(f"{url}/api/v1/alerts/{alert_id}").status_code


def test_the_app_runs_a_retention_worker_with_its_settings(database_url, clean_db):
    assert Settings(database_url=database_url).alert_retention_days == 90
    app = ingestion_app(database_url, unreachable_url(), alert_retention_days=7, retention_interval_seconds=60)
    with serve_in_thread(app):
        worker = retention(app)
    assert (worker.max_age_days, worker.interval_seconds, list(worker.targets)) == (7, 60, [ALERTS])


def test_old_alerts_go_recent_ones_and_their_incident_stay(ingestion, incidents_url, clean_db):
    app, url = ingestion
    old = [post(url, message=f"old {n}") for n in range(2)]
    recent = post(url, message="recent")
    assert len({a["incident_id"] for a in [*old, recent]}) == 1
    backdate(clean_db, [a["alert_id"] for a in old], days=31)
    before = REGISTRY.get_sample_value("retention_deleted_rows_total", {"table": "alerts"}) or 0.0

    assert retention(app).run_cycle() == {"alerts": 2}

    assert [stored(url, a["alert_id"]) for a in old] == [404, 404]
    assert stored(url, recent["alert_id"]) == 200
    incident = httpx.get(f"{incidents_url}/api/v1/incidents/{recent['incident_id']}")
    assert incident.status_code == 200 and incident.json()["status"] == "open"
    assert REGISTRY.get_sample_value("retention_deleted_rows_total", {"table": "alerts"}) - before == 2


def test_an_old_pending_alert_is_kept_until_it_is_correlated(database_url, clean_db):
    app = ingestion_app(database_url, unreachable_url(), alert_retention_days=30)
    with serve_in_thread(app) as url:
        pending = post(url)
        assert pending["status"] == "pending"
        backdate(clean_db, [pending["alert_id"]], days=365)
        assert retention(app).run_cycle() == {"alerts": 0}
        assert httpx.get(f"{url}/api/v1/alerts/{pending['alert_id']}").json()["status"] == "pending"


def test_an_old_alert_firing_under_its_dedup_key_stays_until_its_resolution_is_reported(ingestion, incidents_url, clean_db):
    app, url = ingestion
    firing = post(url, dedup_key="db01/disk")
    backdate(clean_db, [firing["alert_id"]], days=100)
    assert retention(app).run_cycle() == {"alerts": 0}
    assert post(url, dedup_key="db01/disk")["dedup"] == "repeat", "a repeat still counts on the firing alert"

    assert post(url, dedup_key="db01/disk", status="resolved")["dedup"] == "resolved"
    assert retention(app).run_cycle() == {"alerts": 0}, "its resolution is not reported to the incident yet"
    app.state.resolution_worker.run_once()
    assert httpx.get(f"{incidents_url}/api/v1/incidents/{firing['incident_id']}").json()["status"] == "resolved"

    assert retention(app).run_cycle() == {"alerts": 1}
    assert stored(url, firing["alert_id"]) == 404
    assert httpx.get(f"{incidents_url}/api/v1/incidents/{firing['incident_id']}").status_code == 200


def test_more_old_alerts_than_one_batch_all_go_in_one_cycle(ingestion, clean_db):
    app, url = ingestion
    recent = post(url)
    with clean_db.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO alert_ingestion.alerts (service, severity, message, labels, timestamp, received_at, source, status) "
                "SELECT 'checkout', 'high', 'old ' || n, '{}', now() - interval '60 days', now() - interval '60 days', 'api', 'correlated' "
                "FROM generate_series(1, 2500) AS n"
            )
        )
    assert retention(app).run_cycle() == {"alerts": 2500}  # batches of 1,000
    with clean_db.connect() as connection:
        assert connection.execute(text("SELECT id::text FROM alert_ingestion.alerts")).scalars().all() == [recent["alert_id"]]


def test_zero_days_keeps_every_alert(database_url, incidents_url, clean_db):
    app = ingestion_app(database_url, incidents_url, alert_retention_days=0)
    with serve_in_thread(app) as url:
        old = post(url)
        backdate(clean_db, [old["alert_id"]], days=10_000)
        assert retention(app).run_cycle() == {}
        assert stored(url, old["alert_id"]) == 200
