"""Request and response models of the people API (SPEC §12): contact methods, notification rules,
test pages and delivery plans."""

import re
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints, model_validator

from platform_common.recipients import is_email
from platform_common.validation import NonEmptyText

ContactType = Literal["email", "webhook", "apprise"]
Address = Annotated[NonEmptyText, StringConstraints(max_length=2000)]
MAX_DELAY_MINUTES = 1440
_HTTP_URL = re.compile(r"^https?://[^\s/?#@]+[^\s]*$", re.IGNORECASE)
_APPRISE_URL = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.IGNORECASE)
_RULES = {
    "email": (is_email, "an email contact method needs a plain address, e.g. alice@example.com"),
    "webhook": (
        _HTTP_URL.match,
        "a webhook contact method needs an http(s) URL without credentials, e.g. https://hooks.slack.com/services/…",
    ),
    "apprise": (
        _APPRISE_URL.match,
        "an apprise contact method needs an Apprise URL, e.g. ntfy://ntfy.example.org/oncall or tgram://token/chat",
    ),
}


class ContactMethodCreate(BaseModel):
    type: ContactType
    address: Address = Field(description="An email address, an http(s) webhook URL, or an Apprise URL")

    @model_validator(mode="after")
    def _address_fits_type(self) -> "ContactMethodCreate":
        fits, hint = _RULES[self.type]
        if not fits(self.address):
            raise ValueError(hint)
        return self


class ContactMethodOut(BaseModel):
    id: UUID
    user_id: UUID
    type: ContactType
    address: str
    created_at: datetime


class NotificationRuleCreate(BaseModel):
    contact_method_id: UUID
    delay_minutes: int = Field(ge=0, le=MAX_DELAY_MINUTES, description="Minutes after the page starts (0: at once)")


class NotificationRuleOut(NotificationRuleCreate):
    id: UUID
    user_id: UUID
    created_at: datetime


class TestPageOut(BaseModel):
    notification_id: UUID
    status: str = Field(description="As notification-service has it: pending until delivered")
    channel: str
    recipient: str


class PlanStep(BaseModel):
    contact_method_id: UUID
    channel: ContactType
    recipient: str
    delay_minutes: int


class DeliveryPlan(BaseModel):
    user_id: UUID | None = Field(description="The platform user paged (None: not a user: page on PAGE_CHANNELS)")
    name: str | None
    plan: list[PlanStep] = Field(description="Each notification to send, in order; empty: page on PAGE_CHANNELS")


class EmailDeliveryPlan(DeliveryPlan):
    email: str = Field(description="The email asked about, as asked")
