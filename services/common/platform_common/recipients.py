"""Who can be paged, and how: the channel names and the email address rule every service shares.

notification-service delivers on these channels; incident-management and oncall-service choose among
them (`PAGE_CHANNELS`) and store the addresses they page. One rule for all of them means a schedule
can never hold an address the email channel would refuse, and a typo in `PAGE_CHANNELS` stops the
service at start-up instead of turning every page into a rejected request. A person who is a platform
user with contact methods is paged on those instead (`destinations`), by both pagers.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints


class ChannelName(StrEnum):
    MOCK = "mock"
    WEBHOOK = "webhook"
    EMAIL = "email"
    APPRISE = "apprise"  # an Apprise URL (Telegram, Teams, Discord, ntfy, ...): a person's contact method


MAX_EMAIL_LENGTH = 320
# A plain address (no display name), no whitespace or header-breaking characters, a dotted domain.
_EMAIL = re.compile(r"^[^@\s<>,;\"\x00]+@[^@\s<>,;\"\x00]+\.[^@\s<>,;\".\x00]+$")
EMAIL_HINT = "must be a plain email address with a dotted domain, e.g. alice@example.com"


def is_email(value: str) -> bool:
    return len(value) <= MAX_EMAIL_LENGTH and bool(_EMAIL.match(value))


def _email(value: str) -> str:
    if not is_email(value):
        raise ValueError(EMAIL_HINT)
    return value


EmailAddress = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_EMAIL_LENGTH), AfterValidator(_email)]
"""An address the email channel accepts (the same rule notification-service applies to recipients)."""


def _page_channels(channels: list[str]) -> list[str]:
    known = ", ".join(ChannelName)
    unknown = [channel for channel in channels if channel not in set(ChannelName)]
    if unknown:
        raise ValueError(f"unknown channel(s) {', '.join(map(repr, unknown))}; the known channels are {known}")
    if not channels:
        raise ValueError(f"needs at least one channel ({known}): with none, nobody would be paged")
    if len(set(channels)) != len(channels):
        raise ValueError("lists a channel more than once")
    return channels


PageChannels = Annotated[list[str], AfterValidator(_page_channels)]
"""`PAGE_CHANNELS`: a JSON list of known channel names, each once, at least one."""


@dataclass(frozen=True)
class Destination:
    """One notification of a page: a channel, an address on it, and how long after the page starts."""

    channel: str
    recipient: str
    key: str  # tells this destination apart in the page's idempotency keys: the channel, or `cm:<contact method id>`
    delay_minutes: int = 0

    def not_before(self, start: datetime) -> str | None:
        """notification-service's `not_before` for a page that started at `start` (None: at once)."""
        return (start + timedelta(minutes=self.delay_minutes)).isoformat() if self.delay_minutes else None


def destinations(plan: Iterable[Mapping[str, Any]] | None, *, channels: Iterable[str], address: str) -> list[Destination]:
    """Where one person's page goes: their delivery plan from oncall-service (`GET /api/v1/people/delivery-plan`:
    a platform user's contact methods per their notification rules), or, with an empty plan, every
    `PAGE_CHANNELS` channel at their address."""
    steps = [
        Destination(step["channel"], step["recipient"], f"cm:{step['contact_method_id']}", step["delay_minutes"]) for step in plan or ()
    ]
    return steps or [Destination(channel, address, channel) for channel in channels]
