"""One recipient rule for the platform: the addresses schedules accept are the ones the email channel
delivers to, and PAGE_CHANNELS names only channels notification-service has."""

import pytest
from pydantic import ValidationError

from incident_management.config import Settings as IncidentSettings
from notification.schemas import NotifyRequest
from oncall.config import Settings as OncallSettings
from oncall.schemas import Contact
from platform_common.recipients import is_email

INCIDENT = "6f1c1c8e-6a57-4a55-9d7e-0c2f1b0e9a11"
ADDRESSES = [
    "alice@example.com",
    "a.b+tag@sub.example.org",
    "alice@localhost",
    "Alice <alice@example.com>",
    "a@b.com\nBcc: x@y.z",
    "alice@exa mple.com",
    "no-at-sign.example.com",
    "al\x00ice@example.com",
    "x" * 320 + "@example.com",
]


def _schedule_accepts(address: str) -> bool:
    try:
        Contact(name="Alice", email=address)
    except ValidationError:
        return False
    return True


def _email_channel_accepts(address: str) -> bool:
    try:
        NotifyRequest(incident_id=INCIDENT, channel="email", recipient=address, message="m")
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("address", ADDRESSES)
def test_a_schedule_accepts_exactly_the_addresses_the_email_channel_accepts(address):
    assert _schedule_accepts(address) == _email_channel_accepts(address) == is_email(address)


def test_the_schedule_tells_what_a_valid_address_looks_like():
    with pytest.raises(ValidationError, match="plain email address"):
        Contact(name="Alice", email="alice@localhost")


@pytest.mark.parametrize("settings", [IncidentSettings, OncallSettings])
@pytest.mark.parametrize(
    ("channels", "message"),
    [
        ('["mock","sms"]', "unknown channel(s) 'sms'; the known channels are mock, webhook, email, apprise"),
        ('["Email"]', "unknown channel(s) 'Email'"),
        ("[]", "needs at least one channel"),
        ('["webhook","webhook"]', "more than once"),
    ],
)
def test_page_channels_are_checked_at_start_up(settings, channels, message, monkeypatch):
    monkeypatch.setenv("PAGE_CHANNELS", channels)
    with pytest.raises(ValidationError) as error:
        settings()
    assert message in str(error.value)
    assert "page_channels" in str(error.value)
