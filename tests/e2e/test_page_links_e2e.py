"""Acknowledge from the page over real processes (issue 12, acceptance 2).

No anonymous access, a platform user on call. The page reaches a real webhook receiver and a real SMTP
server (aiosmtpd), each with an acknowledge link on the platform's PUBLIC_URL. Opening the link changes
nothing however often; confirming acknowledges as the paged user, and the timeline and the audit log say
so; a second use, a changed signature and (after the clock moves a day on) an expired link change nothing
and say why.
"""

import email
import email.policy
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.paged_platform import Platform, paged_platform
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

TEAM = "payments"
PUBLIC_URL = "https://oncall.example.test"
ADMIN_TOKEN = secrets.token_urlsafe(32)
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def link(text: str, action: str) -> str:
    (url,) = re.findall(rf"^{action}: (\S+)", text, flags=re.MULTILINE)
    return url


def mail_text(raw: str) -> str:
    return email.message_from_string(raw, policy=email.policy.default).get_body(("plain",)).get_content()


def story_env(hook_url: str) -> dict[str, str]:
    """No anonymous access; pages carry signed links on PUBLIC_URL."""
    return {
        "ANONYMOUS_ROLE": "none",
        "BOOTSTRAP_ADMIN_TOKEN": ADMIN_TOKEN,
        "SERVICE_TOKEN": secrets.token_urlsafe(32),
        "PAGE_LINK_SECRET": secrets.token_urlsafe(32),
        "PUBLIC_URL": PUBLIC_URL,
        "PAGE_CHANNELS": '["webhook","email"]',
        "WEBHOOK_URL": hook_url,
    }


@pytest.fixture
def platform(start_stack, tmp_path: Path) -> Iterator[Platform]:
    with paged_platform(start_stack, tmp_path, story_env) as paged:
        yield paged


def test_a_page_acknowledged_from_its_link_once_as_the_paged_user(platform):
    stack, webhook, inbox, offset_file = platform.stack, platform.webhook, platform.inbox, platform.offset_file
    oncall, alerts, incidents = (
        httpx.Client(base_url=stack.url(name), headers=ADMIN, timeout=10)
        for name in ("oncall-service", "alert-ingestion", "incident-management")
    )
    anonymous = httpx.Client(base_url=stack.url("incident-management"), timeout=10)  # a mail client has no credential

    def at_incident_management(url: str) -> str:
        assert url.startswith(f"{PUBLIC_URL}/api/v1/page-actions/")  # the gateway routes this path to incident-management
        return urlsplit(url).path

    rita = oncall.post("/api/v1/users", json={"name": "Rita", "email": "rita@example.org", "role": "responder"}).json()
    schedule = {"team": TEAM, "rotation_type": "weekly", "members": [{"user_id": rita["id"]}, {"name": "Bob", "email": "bob@example.org"}]}
    assert oncall.post("/api/v1/schedules", json=schedule).status_code == 201
    raised = alerts.post("/api/v1/alerts", json={"service": TEAM, "severity": "critical", "message": "card payments failing"})
    incident_id = raised.json()["incident_id"]

    # The page reaches the chat webhook and the mailbox, each with the links.
    (chat,) = wait_until(lambda: [b for b in webhook.bodies if b["incident_id"] == incident_id], "the webhook page")
    (mail,) = wait_until(lambda: [mail_text(m) for rcpts, m in inbox.mails if "rita@example.org" in rcpts], "the email page")
    chat_acknowledge = at_incident_management(link(chat["text"], "Acknowledge"))
    mail_acknowledge, mail_resolve = (at_incident_management(link(mail, action)) for action in ("Acknowledge", "Resolve"))
    before = incidents.get(f"/api/v1/incidents/{incident_id}").json()
    assert before["status"] == "open"

    # Link previews and mail scanners open it: a confirmation page, nothing changes.
    for _ in range(10):
        preview = anonymous.get(chat_acknowledge)
        assert preview.status_code == 200 and "Acknowledge as Rita" in preview.text
    assert incidents.get(f"/api/v1/incidents/{incident_id}").json()["timeline"] == before["timeline"]

    # Rita confirms: acknowledged as Rita, on the timeline and in the audit log.
    confirmed = anonymous.post(chat_acknowledge)
    assert confirmed.status_code == 200, confirmed.text
    after = incidents.get(f"/api/v1/incidents/{incident_id}").json()
    assert after["status"] == "acknowledged" and after["acknowledged_at"] is not None
    assert (after["timeline"][-1]["kind"], after["timeline"][-1]["actor"]) == ("acknowledged", "Rita")
    entries = wait_until(
        lambda: [e for e in oncall.get("/api/v1/audit", params={"actor": "Rita"}).json() if e["path"].startswith("/api/v1/page-actions/")],
        "the audit entry naming Rita",
    )
    assert [(e["service"], e["method"], e["status"], e["actor_kind"]) for e in entries] == [("incident-management", "POST", 200, "user")]

    # A second use, a changed signature, an expired link: nothing changes, and the page says why.
    again = anonymous.post(chat_acknowledge)
    assert again.status_code == 410 and "already used" in again.text
    payload, signature = mail_acknowledge.rsplit("/", 1)[1].split(".")
    changed = anonymous.post(f"/api/v1/page-actions/{payload}.{signature[::-1]}")
    assert changed.status_code == 403 and "not valid" in changed.text
    offset_file.write_text(str(25 * 3600), encoding="utf-8")  # a day and an hour later
    expired = anonymous.post(mail_resolve)
    assert expired.status_code == 410 and "expired" in expired.text
    final = incidents.get(f"/api/v1/incidents/{incident_id}").json()
    assert final["status"] == "acknowledged" and final["timeline"] == after["timeline"]
