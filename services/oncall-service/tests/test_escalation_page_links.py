"""Escalation pages carry each recipient's own acknowledge and resolve links (SPEC §12): a platform user
by id, anyone else by name and email. Pages go over real HTTP to a stand-in notification-service."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from oncall.engine import recipients
from platform_common.http import ServiceClient
from platform_common.pagelinks import PageLinker, Who
from tests.support.peers import PeerStandIn
from tests.support.servers import serve_in_thread

NOW = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
LINKER = PageLinker("escalation-links-secret-0123456789", 3600, "https://oncall.example.test", clock=lambda: NOW)


@pytest.fixture
def notifier() -> Iterator[tuple[PeerStandIn, ServiceClient]]:
    stand_in = PeerStandIn()
    with serve_in_thread(stand_in.app()) as url:
        client = ServiceClient("notification-service", url, timeout=5, retries=0)
        yield stand_in, client
        client.close()


def test_every_recipient_gets_links_that_act_as_them(notifier):
    stand_in, client = notifier
    rita_id = str(uuid.uuid4())
    row = {
        "incident_id": uuid.uuid4(),
        "level": 2,
        "recipients": [
            {"name": "Rita", "email": "rita@example.org", "user_id": rita_id},
            {"name": "Bob", "email": "bob@example.org", "user_id": None},
        ],
    }
    recipients.page(client, ["mock", "webhook"], row=row, incident_id=row["incident_id"], message="[ESCALATED level 2] t", links=LINKER)
    assert len(stand_in.notifications) == 4
    acting = {}
    for notification in stand_in.notifications:
        message = notification["message"]
        assert message.startswith("[ESCALATED level 2] t\n\nAcknowledge: https://oncall.example.test/api/v1/page-actions/")
        links = dict(line.split(": ", 1) for line in message.splitlines()[2:])
        assert set(links) == {"Acknowledge", "Resolve"}
        actions = [LINKER.verify(url.rsplit("/", 1)[1]) for url in links.values()]
        assert {a.incident_id for a in actions} == {row["incident_id"]} and [a.action for a in actions] == ["acknowledge", "resolve"]
        acting.setdefault(notification["recipient"], set()).update(a.who for a in actions)
    assert acting == {"rita@example.org": {Who("Rita", user_id=rita_id)}, "bob@example.org": {Who("Bob", "bob@example.org")}}
