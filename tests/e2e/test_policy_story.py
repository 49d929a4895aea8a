"""Escalation policies over real processes: the acceptance story of issue 12, part A.

A policy of two steps (user Ada, then the checkout-api schedule's on-call primary, Alice), 1-minute
delays, repeated once, governs team checkout-api. With two oncall-service replicas running, an
unacknowledged incident pages Ada, Alice, Ada, Alice (each exactly once, by webhook and by email), then
is flagged `escalation_exhausted` and its team's admin is told; an incident acknowledged after step 1
pages nobody else. The platform, its receivers and the clock (the offset file every service reads) come
from the escalation story.
"""

from typing import Any

import httpx
import pytest

from tests.e2e.test_escalation_story import TEAM, Platform, platform, schedule, second_oncall_replica, wait_until

pytestmark = pytest.mark.e2e
__all__ = ["platform", "second_oncall_replica"]  # the fixtures this story shares with the escalation story


def pages(platform: Platform, incident_id: str, recipient: str, level: int) -> list[dict[str, Any]]:
    return [b for b in platform.webhook.pages(incident_id, recipient, escalated=True) if f"[ESCALATED level {level}]" in b["message"]]


def mails(platform: Platform, incident_id: str, recipient: str, level: int) -> list[str]:
    return [m for m in platform.inbox.to(recipient, incident_id, escalated=True) if f"[ESCALATED level {level}]" in m]


def open_incident(incidents: httpx.Client, title: str) -> str:
    response = incidents.post("/api/v1/incidents", json={"title": title, "service": TEAM, "severity": "critical"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_repeating_policy_pages_each_step_once_across_two_replicas_and_acknowledging_stops_it(platform: Platform, second_oncall_replica):
    alerts, incidents, oncall = (platform.client(n) for n in ("alert-ingestion", "incident-management", "oncall-service"))
    replica = httpx.Client(base_url=second_oncall_replica.url("oncall-service"), timeout=10)
    assert oncall.post("/api/v1/schedules", json=schedule()).status_code == 201
    ada = oncall.post("/api/v1/users", json={"name": "Ada", "email": "ada@example.org", "role": "responder"}).json()
    tess = oncall.post("/api/v1/users", json={"name": "Tess", "email": "tess@example.org", "role": "admin"}).json()
    assert oncall.post("/api/v1/teams", json={"name": TEAM, "member_ids": [ada["id"], tess["id"]]}).status_code == 201
    policy = {
        "name": "checkout",
        "team": TEAM,
        "steps": [
            {"delay_minutes": 1, "targets": [{"type": "user", "id": ada["id"]}]},
            {"delay_minutes": 1, "targets": [{"type": "schedule", "id": TEAM}]},
        ],
        "repeat": 1,
    }
    assert oncall.post("/api/v1/escalation-policies", json=policy).status_code == 201
    assert replica.get("/api/v1/escalation-policies", params={"team": TEAM}).json()[0]["name"] == "checkout"

    # An alert opens the incident: the policy's step 1 pages Ada at once, instead of the primary's page.
    response = alerts.post("/api/v1/alerts", json={"service": TEAM, "severity": "critical", "message": "checkout 5xx > 10%"})
    incident_id = response.json()["incident_id"]
    steps = [("ada@example.org", 0), ("alice@example.org", 1), ("ada@example.org", 2), ("alice@example.org", 3)]
    for level, (recipient, minutes) in enumerate(steps, start=1):
        platform.advance_to(minutes + 0.05)
        wait_until(lambda r=recipient, lv=level: pages(platform, incident_id, r, lv), f"level {level}: the webhook page to {recipient}")
        wait_until(lambda r=recipient, lv=level: mails(platform, incident_id, r, lv), f"level {level}: the email page to {recipient}")
    platform.advance_to(4.05)
    timeline = lambda: incidents.get(f"/api/v1/incidents/{incident_id}/timeline").json()  # noqa: E731
    wait_until(lambda: [e for e in timeline() if e["kind"] == "escalation_exhausted"], "the incident to be flagged exhausted")
    wait_until(lambda: platform.webhook.pages(incident_id, "tess@example.org", escalated=False), "the admin to be told")

    # Acknowledged after step 1: nobody else is paged, while an unacknowledged twin goes on to step 2.
    acknowledged, control = open_incident(incidents, "db latency"), open_incident(incidents, "db errors")
    wait_until(lambda: pages(platform, acknowledged, "ada@example.org", 1), "step 1 of the incident to acknowledge")
    # Step 1 is done once oncall-service has recorded it, not when its page lands (notification-service can
    # deliver before the escalation's own bookkeeping ends; acknowledged before that, a retry of it is cancelled).
    level_1 = lambda: replica.get("/api/v1/escalations", params={"incident_id": acknowledged}).json()  # noqa: E731
    wait_until(lambda: [(e["level"], e["status"]) for e in level_1()] == [(1, "paged")], "step 1 recorded as paged")
    assert incidents.patch(f"/api/v1/incidents/{acknowledged}", json={"status": "acknowledged"}).status_code == 200
    platform.advance_to(4.05 + 1.1)
    wait_until(lambda: pages(platform, control, "alice@example.org", 2), "step 2 of the unacknowledged control incident")

    # Each page exactly once, by both channels, although two replicas ran every cycle.
    for level, (recipient, _) in enumerate(steps, start=1):
        assert len(pages(platform, incident_id, recipient, level)) == 1, (recipient, level)
        assert len(mails(platform, incident_id, recipient, level)) == 1, (recipient, level)
    assert platform.webhook.pages(incident_id, "alice@example.org", escalated=False) == [], "no primary page besides the policy"
    assert len(platform.webhook.pages(incident_id, "tess@example.org", escalated=False)) == 1
    assert len([e for e in timeline() if e["kind"] == "escalation_exhausted"]) == 1
    assert [e["data"]["to"] for e in timeline() if e["kind"] == "escalated"] == ["Ada", "Alice", "Ada", "Alice"]
    listed = replica.get("/api/v1/escalations", params={"incident_id": incident_id}).json()
    assert [(e["level"], e["kind"], e["status"]) for e in listed] == [
        (5, "exhausted", "paged"),
        *((lv, "step", "paged") for lv in (4, 3, 2, 1)),
    ]
    assert [(e["level"], e["status"]) for e in replica.get("/api/v1/escalations", params={"incident_id": acknowledged}).json()] == [
        (1, "paged")
    ]
    assert [b["recipient"] for b in platform.webhook.bodies if b["incident_id"] == acknowledged] == ["ada@example.org"]
