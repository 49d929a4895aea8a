"""People over real processes (SPEC §12): the on-call primary is a platform user with an email contact
method and a webhook one, and rules "email at once, webhook after 1 minute". An alert pages her by email
at once; the webhook page waits until the platform clock has moved a minute; each arrives exactly once.

Every service runs as its own process against the test database; the email goes to a real SMTP server
(aiosmtpd), the webhook to a real HTTP receiver. Time moves through PLATFORM_CLOCK_OFFSET_FILE."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.paged_platform import Platform, paged_platform
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

TEAM = "payments-api"


def story_env(hook_url: str) -> dict[str, str]:
    """Pages go to the user's own contact methods; the webhook one points at the receiver."""
    return {"PAGE_CHANNELS": '["mock"]', "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "ESCALATION_INTERVAL_SECONDS": "0.3"}


@pytest.fixture
def story(start_stack, tmp_path: Path) -> Iterator[Platform]:
    with paged_platform(start_stack, tmp_path, story_env) as platform:
        yield platform


def test_an_on_call_user_is_paged_by_email_at_once_and_by_webhook_a_minute_later(story):
    stack, webhook, hook_url, inbox, offset_file = story.stack, story.webhook, story.hook_url, story.inbox, story.offset_file
    alerts, incidents, oncall, notifications = (
        httpx.Client(base_url=stack.url(name), timeout=10)
        for name in ("alert-ingestion", "incident-management", "oncall-service", "notification-service")
    )
    rita = oncall.post("/api/v1/users", json={"name": "Rita", "email": "rita@example.org", "role": "responder"}).json()
    methods = {}
    for kind, address in (("email", "rita.pager@example.org"), ("webhook", hook_url)):
        created = oncall.post(f"/api/v1/users/{rita['id']}/contact-methods", json={"type": kind, "address": address})
        assert created.status_code == 201, created.text
        methods[kind] = created.json()["id"]
    for kind, delay in (("email", 0), ("webhook", 1)):
        rule = oncall.post(
            f"/api/v1/users/{rita['id']}/notification-rules", json={"contact_method_id": methods[kind], "delay_minutes": delay}
        )
        assert rule.status_code == 201, rule.text
    schedule = {"team": TEAM, "rotation_type": "weekly", "timezone": "UTC", "escalation_minutes": 30, "members": [{"user_id": rita["id"]}]}
    assert oncall.post("/api/v1/schedules", json=schedule).status_code == 201

    response = alerts.post("/api/v1/alerts", json={"service": TEAM, "severity": "critical", "message": "card payments failing"})
    assert response.status_code == 201, response.text
    incident_id = response.json()["incident_id"]
    assert incidents.get(f"/api/v1/incidents/{incident_id}").json()["assigned_to"] == "Rita"

    # The email goes out at once; the webhook page is accepted but waits for its minute.
    mails = wait_until(
        lambda: [body for rcpts, body in inbox.mails if "rita.pager@example.org" in rcpts and incident_id in body], "the email page"
    )
    assert "card payments failing" in mails[0] and "Acknowledge: " in mails[0]

    def delayed() -> list[dict]:
        listed = notifications.get("/api/v1/notifications", params={"incident_id": incident_id, "channel": "webhook"}).json()
        return [n for n in listed if n["status"] == "pending" and n["not_before"]]

    (waiting,) = wait_until(delayed, "the webhook page to be queued for later")
    assert waiting["recipient"] == hook_url
    paged = [e for e in incidents.get(f"/api/v1/incidents/{incident_id}/timeline").json() if e["kind"] == "paged"]
    assert [e["message"] for e in paged] == ["Paged rita@example.org via email, webhook after 1 min"]
    assert webhook.bodies == []

    offset_file.write_text("61", encoding="utf-8")  # every service's clock moves a minute on
    (page,) = wait_until(lambda: [b for b in webhook.bodies if b["incident_id"] == incident_id], "the webhook page after a minute")
    assert page["text"].startswith("[CRITICAL] card payments failing")

    def all_sent() -> bool:
        listed = notifications.get("/api/v1/notifications", params={"incident_id": incident_id}).json()
        return len(listed) == 2 and {n["status"] for n in listed} == {"sent"}

    wait_until(all_sent, "both notifications to be recorded as sent")
    assert len([b for b in webhook.bodies if b["incident_id"] == incident_id]) == 1
    assert len([body for rcpts, body in inbox.mails if incident_id in body]) == 1
