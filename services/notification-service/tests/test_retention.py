"""Notification retention on the real test database, with the service's clock moved by hand: finished
notifications older than NOTIFICATION_RETENTION_DAYS go with their attempts and timeline reports; a
pending one never does, nor one whose failure has not reached its incident's timeline yet, nor one a
pending fallback stands in for."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text

from notification.config import Settings
from notification.retention import NOTIFICATIONS
from platform_common.retention import RetentionWorker

DAY = 86400.0


def retention(client: TestClient) -> RetentionWorker:
    [worker] = [w for w in client.app.state.workers if isinstance(w, RetentionWorker)]
    return worker


def removed(notifications: int, attempts: int, reports: int = 0) -> dict[str, int]:
    return {"notifications": notifications, "notification_attempts": attempts, "timeline_reports": reports}


def status(client: TestClient, notification_id: str) -> str | int:
    response = client.get(f"/api/v1/notifications/{notification_id}")
    return response.json()["status"] if response.status_code == 200 else response.status_code


def test_the_app_runs_a_retention_worker_with_its_settings(make_client, database_url):
    assert Settings(database_url=database_url).notification_retention_days == 90
    worker = retention(make_client(notification_retention_days=14, retention_interval_seconds=120))
    assert (worker.max_age_days, worker.interval_seconds, list(worker.targets)) == (14, 120, [NOTIFICATIONS])


def test_old_sent_notifications_go_with_their_attempts_pending_and_recent_ones_stay(make_client, clock, notify, deliver, metric):
    client = make_client(notification_retention_days=30)
    old = notify(client, message="old page")
    assert deliver(client) == 1
    waiting = notify(client, message="never delivered", not_before=(clock.now + timedelta(days=400)).isoformat())
    clock.advance(31 * DAY)
    recent = notify(client, message="recent page")
    assert deliver(client) == 1
    before = metric("retention_deleted_rows_total", table="notification_attempts")

    assert retention(client).run_cycle() == removed(1, 1)

    assert status(client, old["id"]) == 404
    assert (status(client, waiting["id"]), status(client, recent["id"])) == ("pending", "sent")
    assert metric("retention_deleted_rows_total", table="notification_attempts") - before == 1


def test_a_failed_page_stays_until_its_incident_was_told(make_client, incidents, receiver, clock, notify, deliver):
    incident = incidents.open()
    receiver.status = 410
    client = make_client(incident_management_url=incidents.url, notification_retention_days=30)
    page = notify(client, incident_id=incident, channel="webhook", recipient=receiver.url)
    assert deliver(client) == 1 and status(client, page["id"]) == "failed"
    clock.advance(31 * DAY)

    assert retention(client).run_cycle() == removed(0, 0), "the page_failed report is still pending"
    assert client.app.state.reporter.report_due() == 1
    assert retention(client).run_cycle() == removed(1, 1, 1)
    assert status(client, page["id"]) == 404
    assert len(incidents.events(incident, "page_failed")) == 1, "the incident and its timeline stay"


def test_a_finished_notification_a_pending_fallback_stands_in_for_stays(make_client, clock, notify, deliver, clean_db):
    client = make_client(notification_retention_days=30)
    parent, fallback = notify(client, message="primary"), notify(client, message="fallback")
    assert deliver(client) == 2
    with clean_db.begin() as connection:  # the fallback is still being retried
        connection.execute(
            text(
                "UPDATE notification.notifications SET status = 'pending', fallback_of = :parent, "
                "next_attempt_at = now() + interval '1 year' WHERE id = :id"
            ),
            {"parent": parent["id"], "id": fallback["id"]},
        )
    clock.advance(31 * DAY)
    assert retention(client).run_cycle() == removed(0, 0)
    assert (status(client, parent["id"]), status(client, fallback["id"])) == ("sent", "pending")


def test_more_old_notifications_than_one_batch_all_go_in_one_cycle(make_client, clock, clean_db):
    client = make_client(notification_retention_days=30)
    with clean_db.begin() as connection:
        connection.execute(
            text(
                "WITH made AS (INSERT INTO notification.notifications "
                "(incident_id, channel, recipient, message, status, attempts, created_at, updated_at, sent_at) "
                "SELECT gen_random_uuid(), 'mock', 'alice', 'page ' || n, 'sent', 1, :at, :at, :at "
                "FROM generate_series(1, 2500) AS n RETURNING id) "
                "INSERT INTO notification.notification_attempts (notification_id, attempt, outcome, duration_seconds, attempted_at) "
                "SELECT id, 1, 'sent', 0.01, :at FROM made"
            ),
            {"at": clock.now},
        )
    clock.advance(31 * DAY)
    assert retention(client).run_cycle() == removed(2500, 2500)  # batches of 1,000
    with clean_db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM notification.notification_attempts")).scalar_one() == 0


def test_zero_days_keeps_every_notification(make_client, clock, notify, deliver):
    client = make_client(notification_retention_days=0)
    old = notify(client)
    assert deliver(client) == 1
    clock.advance(10_000 * DAY)
    assert retention(client).run_cycle() == {}
    assert status(client, old["id"]) == "sent"
