"""A contact method notification-service refuses at page time does not lose the page: the other
destinations still go out, and a person none of whose contact methods is accepted is paged on every
page channel at their email instead."""

import uuid

import pytest

from oncall import peers
from oncall.engine import recipients
from platform_common.http import ServiceClient
from platform_common.pagelinks import PageLinker


def plan_step(channel: str, recipient: str, cm: str) -> dict:
    return {"channel": channel, "recipient": recipient, "contact_method_id": cm, "delay_minutes": 0}


def row(*people: dict) -> dict:
    return {"incident_id": uuid.uuid4(), "level": 1, "recipients": list(people), "created_at": None}


@pytest.fixture
def client(notifier):
    stand_in, url = notifier
    with_client = ServiceClient("notification-service", url, retries=0)
    yield stand_in, with_client
    with_client.close()


LINKS = PageLinker.from_environment()


def test_a_refused_contact_method_falls_back_to_the_page_channels(client):
    stand_in, notifier = client
    rita = {"name": "Rita", "email": "rita@example.org", "plan": [plan_step("rejected", "https://gone.example/hook", "cm1")]}
    level = row(rita)
    recipients.page(notifier, ["mock"], row=level, incident_id=level["incident_id"], message="help", links=LINKS)
    assert [(page["channel"], page["recipient"]) for page in stand_in.pages] == [("mock", "rita@example.org")]


def test_one_refused_destination_does_not_stop_the_others(client):
    stand_in, notifier = client
    rita = {
        "name": "Rita",
        "email": "rita@example.org",
        "plan": [plan_step("rejected", "x", "cm1"), plan_step("mock", "rita@example.org", "cm2")],
    }
    bob = {"name": "Bob", "email": "bob@example.org"}
    level = row(rita, bob)
    recipients.page(notifier, ["mock"], row=level, incident_id=level["incident_id"], message="help", links=LINKS)
    assert sorted(page["recipient"] for page in stand_in.pages) == ["bob@example.org", "rita@example.org"]


def test_nobody_accepted_is_a_rejection(client):
    _, notifier = client
    level = row({"name": "Rita", "email": "rita@example.org"})
    with pytest.raises(peers.PeerRejected, match="rejected for Rita"):
        recipients.page(notifier, ["rejected"], row=level, incident_id=level["incident_id"], message="help", links=LINKS)
