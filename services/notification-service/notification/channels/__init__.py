"""Delivery channels. Each channel sends one notification or raises `DeliveryError`.

    DeliveryError            the attempt failed; it is retried with backoff
    └── permanent=True       retrying cannot help (e.g. HTTP 404, SMTP 550): the notification fails now

A channel turns its library's errors (httpx, smtplib, sockets) into `DeliveryError`; anything else is
a bug and propagates (the attempt is rolled back and the worker logs it).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit
from uuid import UUID

from notification.config import Settings
from notification.egress import EgressPolicy
from notification.schemas import ChannelName


@dataclass(frozen=True)
class Notification:
    id: UUID
    incident_id: UUID
    channel: str
    recipient: str
    message: str


def url_destination(channel: str, url: str) -> str:
    """A URL's destination: the channel, scheme, host and port (no path, user or secret)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{channel} {parts.scheme.lower()}://{(parts.hostname or '').lower()}" + (f":{port}" if port else "")


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    def recipient_problem(self, recipient: str) -> str | None:
        """Why this recipient can never be delivered to with the current configuration (None: it can)."""

    def destination(self, recipient: str) -> str:
        """Where an attempt to this recipient connects (its lane: `notification.lanes`)."""

    def send(self, notification: Notification) -> None:
        """Deliver, or raise DeliveryError."""

    def close(self) -> None: ...


def build_channels(settings: Settings) -> Mapping[str, Channel]:
    from notification.channels.apprise import AppriseChannel
    from notification.channels.email import EmailChannel
    from notification.channels.mock import MockChannel
    from notification.channels.webhook import WebhookChannel

    policy = EgressPolicy.from_settings(allowed_hosts=settings.webhook_allowed_hosts, webhook_url=settings.webhook_url)
    return {
        ChannelName.MOCK: MockChannel(),
        ChannelName.WEBHOOK: WebhookChannel(
            default_url=settings.webhook_url, policy=policy, timeout=settings.delivery_attempt_timeout_seconds
        ),
        ChannelName.EMAIL: EmailChannel.from_settings(settings),
        ChannelName.APPRISE: AppriseChannel(policy=policy, timeout=settings.delivery_attempt_timeout_seconds),
    }
