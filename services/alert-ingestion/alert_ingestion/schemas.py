"""Request and response models of the alert API."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator, model_serializer

from platform_common.severity import Severity, normalise_severity
from platform_common.validation import Text, Timestamp

MAX_LABELS = 64
SeverityIn = Annotated[Severity, BeforeValidator(normalise_severity)]
LabelKey = Annotated[Text, StringConstraints(min_length=1, max_length=100)]
LabelValue = Annotated[Text, StringConstraints(max_length=1000)]
DedupKey = Annotated[Text, StringConstraints(min_length=1, max_length=255)]  # PagerDuty's limit


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
    dedup_key: DedupKey | None = Field(
        default=None, description="names the alert: a repeat while it fires is counted on it, not stored again (see status)"
    )
    status: Literal["firing", "resolved"] = Field(
        default="firing", description="`resolved` resolves the firing alert with this dedup_key (required then)"
    )

    @field_validator("labels")
    @classmethod
    def _bounded_labels(cls, labels: dict[str, str]) -> dict[str, str]:
        if len(labels) > MAX_LABELS:
            raise ValueError(f"at most {MAX_LABELS} labels")
        return labels

    @field_validator("status")
    @classmethod
    def _resolved_by_key(cls, value: str, info: ValidationInfo) -> str:
        if value == "resolved" and info.data.get("dedup_key") is None:
            raise ValueError("resolving an alert needs its dedup_key")
        return value

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


CorrelationStatus = Literal["correlated", "pending", "silenced", "dropped"]  # silenced / dropped: never correlated
Action = Literal["new_incident", "attached_to_existing_incident", "queued", "silenced", "dropped"]
DedupResult = Literal["new_alert", "repeat", "resolved"]


class AlertAccepted(BaseModel):
    """`status` is `pending` (and `action` `queued`) when the alert is stored but its incident is not
    known yet because incident-management is unreachable; it is correlated as soon as it is back.
    `silenced` (a silence or maintenance window) and `dropped` (a routing rule): stored, never correlated."""

    alert_id: UUID
    incident_id: UUID | None
    status: CorrelationStatus
    action: Action
    dedup_key: str | None = Field(default=None, description="only in answers to alerts sent with a dedup_key")
    dedup: DedupResult | None = Field(
        default=None,
        description="new_alert: stored; repeat: the alert with this key is firing, the repeat was counted on it and "
        "nothing was stored; resolved: the alert with this key is resolved",
    )

    @model_serializer(mode="wrap")
    def _dedup_fields_only_when_used(self, handler):
        answer = handler(self)
        if self.dedup_key is None:
            answer.pop("dedup_key", None)
            answer.pop("dedup", None)
        return answer


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
    dedup_key: str | None = None
    integration_id: UUID | None = Field(default=None, description="the integration whose key sent it")
    repeat_count: int = Field(default=0, description="repeats of its dedup_key counted while it fired")
    last_repeated_at: datetime | None = None
    details: dict[str, Any] | None = Field(default=None, description="Events API custom_details, links, images, client")
    routing_rule_id: UUID | None = Field(default=None, description="the routing rule that changed or dropped it")
    silence_id: UUID | None = Field(default=None, description="the silence that silenced it")
    maintenance_window_id: UUID | None = Field(default=None, description="the maintenance window that silenced it")
    group_key: str | None = Field(default=None, description="its alert group beyond service + severity (per-service grouping)")
