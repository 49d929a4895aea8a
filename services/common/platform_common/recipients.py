"""Who can be paged, and how: the channel names and the email address rule every service shares.

notification-service delivers on these channels; incident-management and oncall-service choose among
them (`PAGE_CHANNELS`) and store the addresses they page. One rule for all of them means a schedule
can never hold an address the email channel would refuse, and a typo in `PAGE_CHANNELS` stops the
service at start-up instead of turning every page into a rejected request.
"""

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, StringConstraints


class ChannelName(StrEnum):
    MOCK = "mock"
    WEBHOOK = "webhook"
    EMAIL = "email"


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
