"""Request and response models of routing rules, grouping, silences and maintenance windows."""

from datetime import UTC, datetime, time
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, PlainSerializer, PlainValidator, StringConstraints, WithJsonSchema, field_validator, model_validator

from alert_ingestion.routing.matchers import MAX_MATCHERS, Matcher, build, matches_everything, parse
from alert_ingestion.routing.schedule import MAX_DURATION, WEEKDAYS
from alert_ingestion.schemas import AlertIn, LabelKey, SeverityIn
from platform_common.severity import Severity
from platform_common.validation import NonEmptyText, Timestamp, TimeZoneName

Name = Annotated[NonEmptyText, StringConstraints(max_length=200)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _matcher(value: Any) -> Matcher:
    if isinstance(value, str):
        return parse(value)
    if isinstance(value, dict) and all(isinstance(value.get(key), str) for key in ("name", "op", "value")):
        return build(value["name"], value["op"], value["value"])
    raise ValueError('a matcher is text such as service="checkout" or team=~"pay.*", or {"name", "op", "value"}')


_MATCHER_SCHEMA = {
    "anyOf": [
        {"type": "string", "maxLength": 1200, "examples": ['service="checkout"', 'team=~"pay.*"']},
        {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "op": {"type": "string", "enum": ["=", "!=", "=~", "!~"]},
                "value": {"type": "string", "maxLength": 1000},
            },
            "required": ["name", "op", "value"],
        },
    ]
}
MatcherIn = Annotated[
    Matcher,
    PlainValidator(_matcher),
    PlainSerializer(Matcher.as_dict),
    WithJsonSchema(_MATCHER_SCHEMA, mode="validation"),
]
Matchers = Annotated[list[MatcherIn], Field(min_length=1, max_length=MAX_MATCHERS)]


class MatcherOut(BaseModel):
    name: str
    op: str
    value: str


class _UtcTimes(BaseModel):
    """`starts_at` / `ends_at` without an offset are UTC."""

    @field_validator("starts_at", "ends_at", check_fields=False)
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


# --- routing rules ------------------------------------------------------------------------------


class RuleIn(BaseModel):
    """A rule: when every matcher matches (and, with `integration_id`, the alert came through that
    integration), set the service and/or the severity, or drop the alert. The first matching rule wins."""

    name: Name
    matchers: Matchers
    integration_id: UUID | None = Field(default=None, description="only alerts sent with this integration's key; default every alert")
    set_service: Annotated[NonEmptyText, StringConstraints(max_length=200)] | None = None
    set_severity: SeverityIn | None = None
    drop: bool = Field(default=False, description="store the alert as dropped: never correlated, never paged")
    position: int | None = Field(default=None, ge=1, le=10_000, description="1 = evaluated first; default: last (or unchanged)")

    @model_validator(mode="after")
    def _one_kind_of_action(self) -> "RuleIn":
        changes = self.set_service is not None or self.set_severity is not None
        if self.drop and changes:
            raise ValueError("a rule either drops the alert or sets its service / severity, not both")
        if not self.drop and not changes:
            raise ValueError("give an action: set_service, set_severity or drop")
        return self


class RuleOut(BaseModel):
    id: UUID
    position: int
    name: str
    integration_id: UUID | None
    matchers: list[MatcherOut]
    set_service: str | None
    set_severity: Severity | None
    drop: bool
    created_at: datetime
    updated_at: datetime


class MatchedRule(BaseModel):
    id: UUID
    name: str
    integration_id: UUID | None
    matchers: list[MatcherOut]
    set_service: str | None
    set_severity: Severity | None
    drop: bool

    @field_validator("matchers", mode="before")
    @classmethod
    def _plain(cls, matchers: list) -> list:
        return [m.as_dict() if isinstance(m, Matcher) else m for m in matchers]


class RoutedAlert(BaseModel):
    service: str
    severity: Severity
    message: str
    labels: dict[str, str]


class RoutingTestOut(BaseModel):
    """What would happen to the alert now: the rule that would apply (if any), the alert it would become,
    and whether it would be correlated into an incident, silenced (by which silence or window) or dropped."""

    rule: MatchedRule | None
    alert: RoutedAlert
    outcome: Literal["correlate", "silenced", "dropped"]
    silence_id: UUID | None
    maintenance_window_id: UUID | None
    group_key: str | None
    window_seconds: int | None


class RoutingTestIn(AlertIn):
    integration_id: UUID | None = Field(default=None, description="test as if sent with this integration's key")


# --- grouping -----------------------------------------------------------------------------------


class GroupingIn(BaseModel):
    group_by: list[LabelKey] = Field(
        default_factory=list, max_length=10, description="label keys that split a service's alerts further, beyond service + severity"
    )
    window_seconds: int | None = Field(default=None, ge=1, le=86_400, description="default CORRELATION_WINDOW_SECONDS")

    @field_validator("group_by")
    @classmethod
    def _distinct(cls, names: list[str]) -> list[str]:
        if len(set(names)) != len(names):
            raise ValueError("each label once")
        return [name.removeprefix("labels.") for name in names]


class GroupingOut(BaseModel):
    service: str
    group_by: list[str]
    window_seconds: int | None
    updated_at: datetime


# --- silences -----------------------------------------------------------------------------------


class SilenceIn(_UtcTimes):
    matchers: Matchers
    starts_at: Timestamp | None = Field(default=None, description="default now")
    ends_at: Timestamp
    comment: Annotated[NonEmptyText, StringConstraints(max_length=2000)]

    @model_validator(mode="after")
    def _sensible(self) -> "SilenceIn":
        if matches_everything(tuple(self.matchers)):
            raise ValueError("at least one matcher must not match an empty value (this silence would silence everything)")
        if self.starts_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


SilenceState = Literal["active", "pending", "expired"]


class SilenceOut(BaseModel):
    id: UUID
    matchers: list[MatcherOut]
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_by: str
    created_at: datetime
    state: SilenceState


# --- maintenance windows ------------------------------------------------------------------------


class MaintenanceWindowIn(_UtcTimes):
    """`once`: from `starts_at` to `ends_at`. `weekly`: on each of `weekdays` at the local `start_time` in
    `timezone`, for `duration_minutes` (at most a week)."""

    service: Annotated[NonEmptyText, StringConstraints(max_length=200)]
    name: Name | None = Field(default=None, description="default: '<service> maintenance'")
    kind: Literal["once", "weekly"]
    starts_at: Timestamp | None = None
    ends_at: Timestamp | None = None
    weekdays: list[Weekday] | None = Field(default=None, min_length=1, max_length=7)
    start_time: time | None = Field(default=None, description="local wall-clock time, e.g. 02:00")
    duration_minutes: int | None = Field(default=None, ge=1, le=int(MAX_DURATION.total_seconds() // 60))
    timezone: TimeZoneName | None = None

    @model_validator(mode="after")
    def _shape(self) -> "MaintenanceWindowIn":
        once = (self.starts_at, self.ends_at)
        weekly = (self.weekdays, self.start_time, self.duration_minutes, self.timezone)
        if self.kind == "once":
            if None in once or any(value is not None for value in weekly):
                raise ValueError("a 'once' window has starts_at and ends_at (and nothing weekly)")
            if self.ends_at <= self.starts_at:
                raise ValueError("ends_at must be after starts_at")
        elif None in weekly or any(value is not None for value in once):
            raise ValueError("a 'weekly' window has weekdays, start_time, duration_minutes and timezone (no starts_at/ends_at)")
        return self

    @property
    def weekday_numbers(self) -> list[int] | None:
        return None if self.weekdays is None else sorted({WEEKDAYS.index(day) for day in self.weekdays})


class MaintenanceWindowOut(BaseModel):
    id: UUID
    name: str
    service: str
    kind: Literal["once", "weekly"]
    starts_at: datetime | None
    ends_at: datetime | None
    weekdays: list[Weekday] | None
    start_time: time | None
    duration_minutes: int | None
    timezone: str | None
    created_by: str
    created_at: datetime
    ended_at: datetime | None
    active: bool
