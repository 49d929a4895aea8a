"""The incident detail shows the newest of its linked alerts, oldest first, and how many it has: an
incident with thousands of alerts answers a bounded page; every alert is in alert-ingestion's list."""

from sqlalchemy import text

from incident_management.schemas import DETAIL_ALERTS

INCIDENT = {"title": "Checkout 5xx > 10%", "service": "checkout", "severity": "high"}
_LINKED = (
    "INSERT INTO alert_ingestion.alerts (service, severity, message, labels, timestamp, received_at, source, incident_id, status) "
    "SELECT 'checkout', 'high', 'alert ' || g, '{}', now(), timestamptz '2026-03-01 12:00Z' + g * interval '1 second', 'api', "
    ":incident, 'correlated' FROM generate_series(1, :count) AS g"
)


def link(engine, incident_id: str, count: int) -> None:
    with engine.begin() as connection:
        connection.execute(text(_LINKED), {"incident": incident_id, "count": count})


def test_the_detail_shows_the_newest_alerts_oldest_first_and_counts_them_all(client, clean_db):
    incident_id = client.post("/api/v1/incidents", json=INCIDENT).json()["id"]
    link(clean_db, incident_id, DETAIL_ALERTS + 50)
    detail = client.get(f"/api/v1/incidents/{incident_id}").json()
    assert detail["alerts_total"] == DETAIL_ALERTS + 50
    assert [alert["message"] for alert in detail["alerts"]] == [f"alert {g}" for g in range(51, DETAIL_ALERTS + 51)]


def test_a_few_alerts_are_all_shown(client, clean_db):
    incident_id = client.post("/api/v1/incidents", json=INCIDENT).json()["id"]
    assert client.get(f"/api/v1/incidents/{incident_id}").json()["alerts_total"] == 0
    link(clean_db, incident_id, 3)
    detail = client.get(f"/api/v1/incidents/{incident_id}").json()
    assert detail["alerts_total"] == 3 and [alert["message"] for alert in detail["alerts"]] == ["alert 1", "alert 2", "alert 3"]


def test_before_alert_ingestion_ever_ran_the_detail_shows_no_alerts_and_the_rest(client, clean_db):
    """alert-ingestion publishes the incident-alert links as a view when it first migrates; until then the
    detail lists no alert (that read fails alone: the detail reads in autocommit) and everything else."""
    incident_id = client.post("/api/v1/incidents", json=INCIDENT).json()["id"]
    client.post(f"/api/v1/incidents/{incident_id}/notes", json={"body": "looking", "author": "alice"})
    with clean_db.begin() as connection:
        connection.execute(text("ALTER VIEW alert_ingestion.incident_alerts RENAME TO incident_alerts_not_yet"))
    try:
        response = client.get(f"/api/v1/incidents/{incident_id}")
    finally:
        with clean_db.begin() as connection:
            connection.execute(text("ALTER VIEW alert_ingestion.incident_alerts_not_yet RENAME TO incident_alerts"))
    assert response.status_code == 200, response.text
    detail = response.json()
    assert (detail["alerts"], detail["alerts_total"]) == ([], 0)
    assert [note["body"] for note in detail["notes"]] == ["looking"]
    assert detail["timeline"][0]["kind"] == "created"
