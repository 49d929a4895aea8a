"""Request and response models of the notification API, and the recipient rules of each channel."""

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_serializer, field_validator

from notification import apprise_urls
from platform_common.recipients import ChannelName, is_email
from platform_common.validation import NonEmptyText, Text, Timestamp

NonEmpty = NonEmptyText
Recipient = Annotated[NonEmpty, StringConstraints(max_length=2000)]
MAX_FALLBACKS = 5
MAX_BATCH = 100

_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # the incident was acknowledged or resolved before the page got through


def looks_like_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def check_recipient(channel: ChannelName, recipient: str) -> str:
    """The recipient rule of each channel: email wants an address; webhook an http(s) URL or a name;
    apprise an Apprise URL (whether Apprise can use it is the channel's `recipient_problem`)."""
    if channel == ChannelName.EMAIL and not is_email(recipient):
        raise ValueError("the email channel needs an email address, e.g. alice@example.com")
    if channel == ChannelName.WEBHOOK and looks_like_url(recipient) and not _URL.match(recipient):
        raise ValueError("not a valid http(s) URL")
    if channel == ChannelName.WEBHOOK and any(ch in recipient for ch in "\r\n"):
        raise ValueError("a webhook recipient name must be on one line")
    if channel == ChannelName.APPRISE and (len(recipient.split()) != 1 or "://" not in recipient):
        raise ValueError("the apprise channel needs an Apprise URL, e.g. ntfy://ntfy.example.org/oncall")
    return recipient


class Destination(BaseModel):
    """A channel and a recipient that fits it (a fallback, or the notification's own)."""

    channel: ChannelName
    recipient: Recipient

    @field_validator("recipient")
    @classmethod
    def _recipient_fits_channel(cls, recipient: str, info: ValidationInfo) -> str:
        channel = info.data.get("channel")
        return check_recipient(channel, recipient) if channel is not None else recipient


class NotifyRequest(Destination):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "incident_id": "6f1c1c8e-6a57-4a55-9d7e-0c2f1b0e9a11",
                "channel": "email",
                "recipient": "alice@example.com",
                "message": "[HIGH] Checkout 5xx > 10% — service frontend-api",
            }
        }
    )

    incident_id: UUID
    message: Annotated[NonEmpty, StringConstraints(max_length=10_000)]
    fallbacks: list[Destination] = Field(
        default_factory=list,
        max_length=MAX_FALLBACKS,
        description="Tried in order, each as its own notification, once the one before has failed its first retry budget",
    )
    not_before: Timestamp | None = Field(
        default=None,
        description="Not sent before this instant (a person's notification rule: 'chat after 5 minutes'); "
        "if the incident is acknowledged or resolved by then, it is cancelled instead",
    )


class BatchNotification(NotifyRequest):
    """One notification of a batch: a NotifyRequest with the Idempotency-Key it would have been sent with."""

    idempotency_key: Annotated[Text, StringConstraints(min_length=1, max_length=200)]


class NotifyBatchRequest(BaseModel):
    notifications: list[BatchNotification] = Field(
        min_length=1, max_length=MAX_BATCH, description="Accepted in order, all or none, as if each were POSTed to /api/v1/notify"
    )


class NotificationOut(BaseModel):
    id: UUID
    incident_id: UUID
    channel: ChannelName
    recipient: str
    message: str
    status: NotificationStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None
    failing_since: datetime | None = Field(description="When the first retry budget ran out (the page is still retried)")
    fallback_of: UUID | None = Field(description="The notification this one stands in for")
    not_before: datetime | None = Field(default=None, description="Not sent before this instant (a delayed notification rule)")

    @field_serializer("recipient")
    def _no_secrets(self, recipient: str) -> str:
        """An Apprise URL carries the service's tokens: it is listed with them hidden."""
        return apprise_urls.masked(recipient) if self.channel == ChannelName.APPRISE else recipient


class AttemptOut(BaseModel):
    attempt: int
    outcome: str
    error: str | None
    duration_seconds: float
    attempted_at: datetime


class NotificationDetail(NotificationOut):
    delivery_attempts: list[AttemptOut]


class BatchNotificationOut(BaseModel):
    notification: NotificationOut
    created: bool = Field(description="False for a replay: the key was used before (or earlier in the batch), nothing is sent again")
