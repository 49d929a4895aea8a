"""Request and response models of the on-call API."""

import re
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from oncall.rotation import RotationType
from platform_common.recipients import EmailAddress
from platform_common.validation import NonEmptyText, Timestamp, TimeZoneName, not_a_number

NonEmpty = NonEmptyText
Name = Annotated[NonEmpty, StringConstraints(max_length=200)]
Email = EmailAddress
HandoffTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


def _date_only(value: object) -> object:
    """'2025-01-06' is a date (its handoff time), not midnight: pydantic would read it as a datetime."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return date.fromisoformat(value.strip())
    return value


# Rotation math steps days and weeks around these instants: keep them far from datetime's limits.
MIN_YEAR, MAX_YEAR = 1900, 9000


def in_rotation_range(value: datetime | date) -> datetime | date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return value


Start = Annotated[datetime | date, BeforeValidator(_date_only), BeforeValidator(not_a_number), AfterValidator(in_rotation_range)]
TimeZone = TimeZoneName


class Contact(BaseModel):
    name: Name
    email: Email


class MemberIn(BaseModel):
    """A rotation member: a platform user (`user_id`: their current name and email are used), or a
    name and email (kept as before users existed)."""

    name: Name | None = None
    email: Email | None = None
    user_id: UUID | None = None
    role: Annotated[NonEmpty, StringConstraints(max_length=100)] | None = None

    @model_validator(mode="after")
    def _user_or_contact(self) -> "MemberIn":
        if self.user_id is None and (self.name is None or self.email is None):
            raise ValueError("give a user_id, or a name and an email")
        return self


class MemberOut(BaseModel):
    name: str
    email: str
    role: str | None = None
    user_id: UUID | None = None


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Restriction(BaseModel):
    """When a layer is on: from `start` to `end` (local time in the schedule's time zone) on each of `days`."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "18:00"}}
    )

    days: Annotated[list[Weekday], Field(min_length=1, max_length=7)]
    start: HandoffTime
    end: HandoffTime = Field(description="An end not after start runs into the next day (22:00–06:00); equal to start: 24 hours")


class LayerIn(BaseModel):
    """A rotation on top of the schedule's own, in the schedule's time zone; on only within its
    restrictions (always, without any)."""

    name: Name
    rotation_type: RotationType = RotationType.WEEKLY
    start: Start | None = Field(None, description="First handoff of member 0: a date (handoff time that day) or a datetime; default now")
    handoff_time: HandoffTime = "09:00"
    members: Annotated[list[MemberIn], Field(min_length=1, max_length=100)]
    restrictions: Annotated[list[Restriction], Field(max_length=20)] = Field(default_factory=list)


class LayerOut(BaseModel):
    name: str
    rotation_type: RotationType
    start: datetime
    handoff_time: str
    members: list[MemberOut]
    restrictions: list[Restriction]


class ScheduleFields(BaseModel):
    """Fields of a schedule that can be changed; every one optional (PATCH)."""

    rotation_type: RotationType | None = None
    start: Start | None = Field(None, description="First handoff of member 0: a date (handoff time that day) or a datetime")
    handoff_time: HandoffTime | None = Field(None, description="Local wall-clock time of the handoff, HH:MM")
    timezone: TimeZone | None = Field(None, description="IANA time zone of the handoff, e.g. Europe/Berlin")
    members: Annotated[list[MemberIn], Field(min_length=1, max_length=100)] | None = None
    escalation_minutes: Annotated[int, Field(ge=1, le=10_080)] | None = None
    escalation_levels: Annotated[list[Contact], Field(max_length=10)] | None = Field(
        None, description="Who is paged after the secondary, in order (level 2, 3, ...)"
    )
    layers: Annotated[list[LayerIn], Field(max_length=10)] | None = Field(
        None, description="Rotations on top of this one, later ones on top: the topmost layer that is on provides the primary"
    )
    handoff_notifications: bool | None = Field(None, description="Page the incoming primary when their turn begins")


class ScheduleCreate(ScheduleFields):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "team": "checkout-api",
                "rotation_type": "weekly",
                "handoff_time": "09:00",
                "timezone": "Europe/Berlin",
                "escalation_minutes": 15,
                "members": [
                    {"name": "Alice", "email": "alice@example.org", "role": "primary"},
                    {"name": "Bob", "email": "bob@example.org"},
                ],
                "escalation_levels": [{"name": "Erin (manager)", "email": "erin@example.org"}],
            }
        }
    )

    team: Name
    rotation_type: RotationType = RotationType.WEEKLY
    handoff_time: HandoffTime = "09:00"
    timezone: TimeZone = "UTC"
    members: Annotated[list[MemberIn], Field(min_length=1, max_length=100)]
    escalation_minutes: Annotated[int, Field(ge=1, le=10_080)] = 15
    escalation_levels: Annotated[list[Contact], Field(max_length=10)] = Field(default_factory=list)
    layers: Annotated[list[LayerIn], Field(max_length=10)] = Field(default_factory=list)
    handoff_notifications: bool = False


class ScheduleReplace(ScheduleCreate):
    """PUT body: a whole schedule. `team`, when given, must be the one in the path; an omitted
    `start` keeps the current one (so replacing members does not reshuffle the rotation)."""

    team: Name | None = None  # type: ignore[assignment]


class ScheduleOut(BaseModel):
    id: UUID
    team: str
    rotation_type: RotationType
    start: datetime
    handoff_time: str
    timezone: str
    members: list[MemberOut]
    escalation_minutes: int
    escalation_levels: list[Contact]
    layers: list[LayerOut] = Field(default_factory=list)
    handoff_notifications: bool = False
    created_at: datetime
    updated_at: datetime


class OverrideCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"name": "Carol", "email": "carol@example.org", "start": "2025-06-01T18:00:00Z", "end": "2025-06-02T12:00:00Z"}
        }
    )

    name: Name
    email: Email
    start: Timestamp
    end: Timestamp

    @model_validator(mode="after")
    def _window(self) -> "OverrideCreate":
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end need a UTC offset (e.g. 2025-06-01T18:00:00Z)")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class OverrideOut(BaseModel):
    id: UUID
    team: str
    name: str
    email: str
    start: datetime
    end: datetime
    created_at: datetime


class PersonOut(BaseModel):
    name: str
    email: str


class OnCallOut(BaseModel):
    team: str
    primary: PersonOut
    secondary: PersonOut
    shift_start: datetime
    shift_end: datetime
    overridden: bool = Field(description="The primary is covering through an override")


class ShiftOut(BaseModel):
    start: datetime
    end: datetime
    primary: PersonOut
    secondary: PersonOut
    overridden: bool


class EscalateRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"incident_id": "5f0c...", "reason": "need database expertise"}})

    incident_id: UUID
    reason: Annotated[NonEmpty, StringConstraints(max_length=500)] | None = None


class Recipient(BaseModel):
    name: str
    email: str
    user_id: UUID | None = None


class EscalationOut(BaseModel):
    id: UUID
    incident_id: UUID
    team: str
    level: int
    name: str
    email: str
    reason: str
    manual: bool
    status: str = Field(description="pending (being paged), paged, cancelled (acknowledged first) or failed")
    attempts: int
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    kind: str = Field(description="step, or exhausted: the escalation policy ran out unacknowledged and the team's admins were told")
    recipients: list[Recipient] = Field(description="Everyone this level pages (name and email above are the first)")
