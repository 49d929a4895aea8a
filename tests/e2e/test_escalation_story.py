"""On-call and escalation over real processes: the acceptance story of issue 3.

Every service runs as its own process on free loopback ports against the test database. Pages leave
notification-service for real: a webhook receiver and an SMTP server (tests/support/paged_platform.py).
Time moves through the clock offset file every service reads; nothing sleeps on a timing assumption,
every asynchronous outcome is polled for with a deadline.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from platform_local.stack import Stack
from tests.support.paged_platform import Platform, paged_platform
from tests.support.servers import free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

TEAM = "checkout-api"


def schedule() -> dict[str, Any]:
    """Alice primary, Bob secondary, Erin above them. The daily handoff was an hour ago, so the next is
    23 h away and the 32 minutes the story moves the clock never cross it, whatever the time of day the
    tests run at (a fixed 09:00 handoff made Bob primary, and escalated to Alice, when the story began
    between 08:28 and 09:00 Berlin time)."""
    handoff = datetime.now(ZoneInfo("Europe/Berlin")) - timedelta(hours=1)
    return {
        "team": TEAM,
        "rotation_type": "daily",
        "timezone": "Europe/Berlin",
        "handoff_time": handoff.strftime("%H:%M"),
        "escalation_minutes": 15,
        "members": [{"name": "Alice", "email": "alice@example.org", "role": "primary"}, {"name": "Bob", "email": "bob@example.org"}],
        "escalation_levels": [{"name": "Erin", "email": "erin@example.org"}],
    }


def story_env(hook_url: str) -> dict[str, str]:
    return {
        "PAGE_CHANNELS": '["webhook","email"]',
        "WEBHOOK_URL": hook_url,
        "ESCALATION_INTERVAL_SECONDS": "0.3",
        "PENDING_RETRY_SECONDS": "0.5",
    }


@pytest.fixture
def platform(start_stack, tmp_path: Path) -> Iterator[Platform]:
    with paged_platform(start_stack, tmp_path, story_env) as paged:
        yield paged


def escalations_total(oncall: httpx.Client, team: str = TEAM) -> float:
    for line in oncall.get("/metrics").text.splitlines():
        if line.startswith(f'escalations_total{{team="{team}"}} '):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def escalated_events(incidents: httpx.Client, incident_id: str) -> list[dict[str, Any]]:
    return [e for e in incidents.get(f"/api/v1/incidents/{incident_id}/timeline").json() if e["kind"] == "escalated"]


def raise_alert(alerts: httpx.Client, severity: str, message: str) -> str:
    response = alerts.post("/api/v1/alerts", json={"service": TEAM, "severity": severity, "message": message})
    assert response.status_code == 201, response.text
    return response.json()["incident_id"]


def test_unacknowledged_incident_escalates_to_the_secondary_and_acknowledging_stops_it(platform: Platform):
    alerts, incidents, oncall = (platform.client(n) for n in ("alert-ingestion", "incident-management", "oncall-service"))
    assert oncall.post("/api/v1/schedules", json=schedule()).status_code == 201
    current = oncall.get("/api/v1/oncall/current", params={"team": TEAM}).json()
    assert (current["primary"]["name"], current["secondary"]["name"]) == ("Alice", "Bob")

    # An alert opens an incident, assigned to the primary, who is paged by webhook and by email.
    incident_id = raise_alert(alerts, "critical", "checkout 5xx > 10%")
    assert incidents.get(f"/api/v1/incidents/{incident_id}").json()["assigned_to"] == "Alice"
    wait_until(lambda: platform.webhook.pages(incident_id, "alice@example.org", escalated=False), "the webhook page to Alice")
    wait_until(lambda: platform.inbox.to("alice@example.org", incident_id, escalated=False), "the email page to Alice")
    assert escalations_total(oncall) == 0

    # Nobody acknowledges within 15 minutes: Bob (the secondary) gets it, and is paged the same two ways.
    platform.advance_to(minutes=16)
    wait_until(lambda: escalated_events(incidents, incident_id), "the escalation on the incident timeline")
    (event,) = escalated_events(incidents, incident_id)
    assert (event["data"]["to"], event["data"]["level"], event["actor"]) == ("Bob", 1, "oncall-service")
    assert incidents.get(f"/api/v1/incidents/{incident_id}").json()["assigned_to"] == "Bob"
    wait_until(lambda: platform.webhook.pages(incident_id, "bob@example.org", escalated=True), "the webhook page to Bob")
    wait_until(lambda: platform.inbox.to("bob@example.org", incident_id, escalated=True), "the email page to Bob")
    wait_until(lambda: escalations_total(oncall) == 1, "escalations_total to count the delivered escalation")

    # Bob acknowledges. Time runs past the next level (30 minutes): Erin is never paged for it.
    assert incidents.patch(f"/api/v1/incidents/{incident_id}", json={"status": "acknowledged", "author": "bob"}).status_code == 200
    control_id = raise_alert(alerts, "high", "checkout latency p99 > 2s")  # left unacknowledged on purpose
    platform.advance_to(minutes=16 + 16)
    # The control incident escalating proves the engine ran its cycles past the acknowledged incident's deadline.
    wait_until(lambda: escalated_events(incidents, control_id), "the unacknowledged control incident to escalate")
    assert [e["data"]["level"] for e in escalated_events(incidents, incident_id)] == [1]
    assert platform.webhook.pages(incident_id, "erin@example.org", escalated=True) == []
    listed = oncall.get("/api/v1/escalations", params={"incident_id": incident_id}).json()
    assert [(e["level"], e["name"], e["status"]) for e in listed] == [(1, "Bob", "paged")]
    wait_until(lambda: escalations_total(oncall) == 2, "escalations_total to count the control incident's escalation too")
    assert len(platform.webhook.pages(incident_id, "bob@example.org", escalated=True)) == 1
    assert len(platform.inbox.to("bob@example.org", incident_id, escalated=True)) == 1


@pytest.fixture
def second_oncall_replica(platform: Platform, tmp_path: Path) -> Iterator[Stack]:
    """Another oncall-service process on the same database and peers."""
    replica = Stack(
        database_url=platform.stack.database_url,
        ports={**platform.stack.ports, "oncall-service": free_port()},
        log_dir=tmp_path / "replica-logs",
        env=platform.stack.env,
    )
    replica.start("oncall-service")
    try:
        yield replica
    finally:
        replica.stop()


def test_two_oncall_replicas_escalate_and_page_each_incident_exactly_once(platform: Platform, second_oncall_replica: Stack):
    alerts, incidents = platform.client("alert-ingestion"), platform.client("incident-management")
    replicas = [platform.client("oncall-service"), httpx.Client(base_url=second_oncall_replica.url("oncall-service"), timeout=10)]
    assert replicas[0].post("/api/v1/schedules", json=schedule()).status_code == 201
    assert replicas[1].get("/api/v1/oncall/current", params={"team": TEAM}).json()["primary"]["name"] == "Alice"
    incident_ids = [raise_alert(alerts, severity, f"{severity} trouble") for severity in ("critical", "high", "medium", "low")]

    platform.advance_to(minutes=16)
    for incident_id in incident_ids:
        wait_until(lambda incident_id=incident_id: escalated_events(incidents, incident_id), f"incident {incident_id} to escalate")
        wait_until(
            lambda incident_id=incident_id: platform.inbox.to("bob@example.org", incident_id, escalated=True),
            f"the email page to Bob for {incident_id}",
        )
        wait_until(
            lambda incident_id=incident_id: platform.webhook.pages(incident_id, "bob@example.org", escalated=True),
            f"the webhook page to Bob for {incident_id}",
        )

    wait_until(lambda: sum(escalations_total(replica) for replica in replicas) >= len(incident_ids), "both replicas' counters")
    assert sum(escalations_total(replica) for replica in replicas) == len(incident_ids)
    for incident_id in incident_ids:
        assert len(escalated_events(incidents, incident_id)) == 1
        assert len(platform.webhook.pages(incident_id, "bob@example.org", escalated=True)) == 1
        assert len(platform.inbox.to("bob@example.org", incident_id, escalated=True)) == 1
    listed = replicas[1].get("/api/v1/escalations", params={"team": TEAM})
    assert listed.headers["X-Total-Count"] == str(len(incident_ids))
    assert {e["status"] for e in listed.json()} == {"paged"}
