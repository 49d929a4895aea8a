"""Request and response models of the alert API."""

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator

from platform_common.severity import Severity, normalise_severity
from platform_common.validation import Text, Timestamp

MAX_LABELS = 64
SeverityIn = Annotated[Severity, BeforeValidator(normalise_severity)]
LabelKey = Annotated[Text, StringConstraints(min_length=1, max_length=100)]
LabelValue = Annotated[Text, StringConstraints(max_length=1000)]


class AlertIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "service": "frontend-api",
                "severity": "high",
                "message": "HTTP 5xx error rate > 10%",
                "labels": {"environment": "production", "region": "us-east-1"},
                "timestamp": "2026-02-09T15:30:00Z",
            }
        }
    )

    service: Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    severity: SeverityIn = Field(description="critical | high | medium | low, or an alias: warning, error, info, P1..P4")
    message: Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, description=f"string map, at most {MAX_LABELS} entries")
    timestamp: Timestamp | None = Field(default=None, description="when the alert fired (ISO 8601); default now")

    @field_validator("labels")
    @classmethod
    def _bounded_labels(cls, labels: dict[str, str]) -> dict[str, str]:
        if len(labels) > MAX_LABELS:
            raise ValueError(f"at most {MAX_LABELS} labels")
        return labels

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


CorrelationStatus = Literal["correlated", "pending"]
Action = Literal["new_incident", "attached_to_existing_incident", "queued"]


class AlertAccepted(BaseModel):
    """`status` is `pending` (and `action` `queued`) when the alert is stored but its incident is not
    known yet because incident-management is unreachable; it is correlated as soon as it is back."""

    alert_id: UUID
    incident_id: UUID | None
    status: CorrelationStatus
    action: Action


class AlertOut(BaseModel):
    alert_id: UUID
    incident_id: UUID | None
    service: str
    severity: Severity
    message: str
    labels: dict[str, str]
    timestamp: datetime
    received_at: datetime
    source: str
    fingerprint: str | None
    status: CorrelationStatus
    action: Action | None
    correlated_at: datetime | None
    resolved_at: datetime | None
