"""The Events API v2 event and its answers, as PagerDuty documents them
(https://developer.pagerduty.com/docs/events-api-v2/trigger-events/).

Unknown fields are ignored, as PagerDuty does. `payload` is read only for `trigger` events (an
acknowledge or resolve is about the alert its `dedup_key` names); `dedup_key` is required for them.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from alert_ingestion.schemas import DedupKey
from platform_common.validation import JsonObject, Text, Timestamp

MAX_EVENT_BYTES = 512 * 1024  # PagerDuty's limit on one event (Alertmanager and Grafana stay under 512,000)
MAX_SUMMARY_CHARS = 1024  # PagerDuty's limit on payload.summary
MAX_FIELD_CHARS = 4096
MAX_LINKS = 100

EventAction = Literal["trigger", "acknowledge", "resolve"]
PagerDutySeverity = Literal["critical", "error", "warning", "info"]
ShortText = Annotated[Text, StringConstraints(strip_whitespace=True, max_length=MAX_FIELD_CHARS)]
RequiredText = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_FIELD_CHARS)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    summary: Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_SUMMARY_CHARS)]
    source: RequiredText = Field(
        description="the affected system (a host name); the service when neither the integration nor component names one"
    )
    severity: PagerDutySeverity = Field(description="critical → critical, error → high, warning → medium, info → low")
    timestamp: Timestamp | None = None
    component: ShortText | None = Field(default=None, description="the part at fault; the service when the integration names none")
    group: ShortText | None = None
    class_: ShortText | None = Field(default=None, alias="class")
    custom_details: JsonObject | Text | None = None


class Link(BaseModel):
    model_config = ConfigDict(extra="ignore")

    href: RequiredText
    text: ShortText | None = None


class Image(BaseModel):
    model_config = ConfigDict(extra="ignore")

    src: RequiredText
    href: ShortText | None = None
    alt: ShortText | None = None


class EventIn(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "example": {
                "routing_key": "ipk_…",
                "event_action": "trigger",
                "dedup_key": "db01/disk",
                "payload": {
                    "summary": "Disk 99% full on db01",
                    "source": "db01.example.org",
                    "severity": "critical",
                    "component": "postgres",
                },
            }
        },
    )

    routing_key: Annotated[Text, StringConstraints(min_length=1, max_length=200)] = Field(description="an integration key")
    event_action: EventAction
    dedup_key: DedupKey | None = Field(default=None, description="names the alert; generated and returned for a trigger without one")
    payload: Payload | None = Field(default=None, description="required for trigger, ignored otherwise")
    client: ShortText | None = None
    client_url: ShortText | None = None
    links: list[Link] = Field(default_factory=list, max_length=MAX_LINKS)
    images: list[Image] = Field(default_factory=list, max_length=MAX_LINKS)

    @model_validator(mode="before")
    @classmethod
    def _payload_only_for_triggers(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("event_action") in ("acknowledge", "resolve"):
            return {key: value for key, value in data.items() if key != "payload"}
        return data

    @model_validator(mode="after")
    def _what_each_action_needs(self) -> "EventIn":
        if self.event_action == "trigger" and self.payload is None:
            raise PydanticCustomError("event_incomplete", "'payload' is missing (required for a trigger event)")
        if self.event_action != "trigger" and self.dedup_key is None:
            raise PydanticCustomError("event_incomplete", "'dedup_key' is missing (required for acknowledge and resolve events)")
        return self


class EventAccepted(BaseModel):
    status: Literal["success"] = "success"
    message: Literal["Event processed"] = "Event processed"
    dedup_key: str


class EventRejected(BaseModel):
    """PagerDuty's error body: `invalid event` (or `Unrecognized object` for a body that is not JSON)."""

    status: str
    message: str
    errors: list[str]
