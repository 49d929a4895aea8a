"""Request and response models of the incident API."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from incident_management.lifecycle import Status
from platform_common.pagination import TOTAL_COUNT_CAP
from platform_common.severity import Severity, normalise_severity
from platform_common.validation import JsonObject, NonEmptyText

NonEmpty = NonEmptyText
SeverityIn = Annotated[Severity, BeforeValidator(normalise_severity)]
DETAIL_ALERTS = 100  # the incident detail shows this many of its newest alerts


class IncidentCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"title": "Checkout 5xx > 10%", "service": "frontend-api", "severity": "high"}})

    title: Annotated[NonEmpty, StringConstraints(max_length=500)]
    service: Annotated[NonEmpty, StringConstraints(max_length=200)]
    severity: SeverityIn
    assigned_to: Annotated[NonEmpty, StringConstraints(max_length=200)] | None = None
    correlation_window_seconds: int | None = Field(
        default=None,
        ge=1,
        le=86_400,
        description="join the newest unresolved incident of the same service and severity opened this many seconds ago "
        "or less, instead of opening a new one (decided atomically, whatever the number of callers)",
    )
    group_key: Annotated[NonEmpty, StringConstraints(max_length=64)] | None = Field(
        default=None, description="with correlation_window_seconds: join only an incident opened for this alert group"
    )


class IncidentRequest(IncidentCreate):
    """One incident of a batch, with the Idempotency-Key it would be sent with alone."""

    idempotency_key: Annotated[NonEmpty, StringConstraints(max_length=200)] | None = None


class IncidentBatch(BaseModel):
    incidents: list[IncidentRequest] = Field(min_length=1, max_length=100)


class IncidentUpdate(BaseModel):
    """Status change, note and/or reassignment. `notes` and `note` are the same field."""

    model_config = ConfigDict(json_schema_extra={"example": {"status": "acknowledged", "note": "Looking into it", "author": "alice"}})

    status: Status | None = None
    note: Annotated[NonEmpty, StringConstraints(max_length=10_000)] | None = None
    notes: Annotated[NonEmpty, StringConstraints(max_length=10_000)] | None = None
    assigned_to: Annotated[NonEmpty, StringConstraints(max_length=200)] | None = None
    author: Annotated[NonEmpty, StringConstraints(max_length=200)] = "anonymous"

    @model_validator(mode="after")
    def _something_to_change(self) -> "IncidentUpdate":
        if self.note is not None and self.notes is not None and self.note != self.notes:
            raise ValueError("give the note as either 'note' or 'notes', not both")
        if self.status is None and self.note_text is None and self.assigned_to is None:
            raise ValueError("nothing to change: give status, note/notes or assigned_to")
        return self

    @property
    def note_text(self) -> str | None:
        return self.note if self.note is not None else self.notes


class NoteCreate(BaseModel):
    body: Annotated[NonEmpty, StringConstraints(max_length=10_000)]
    author: Annotated[NonEmpty, StringConstraints(max_length=200)] = "anonymous"


class TimelineEventCreate(BaseModel):
    """An event another service records on the incident (an escalation, a page, a delivery)."""

    kind: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]
    actor: Annotated[NonEmpty, StringConstraints(max_length=200)]
    message: Annotated[NonEmpty, StringConstraints(max_length=2_000)]
    data: JsonObject = Field(default_factory=dict)
    assigned_to: Annotated[NonEmpty, StringConstraints(max_length=200)] | None = None


class IncidentOut(BaseModel):
    id: UUID
    title: str
    service: str
    severity: Severity
    status: Status
    assigned_to: str | None
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    mtta_seconds: float | None
    mttr_seconds: float | None


class IncidentOpened(BaseModel):
    incident: IncidentOut
    action: str = Field(description="new_incident | attached_to_existing_incident")
    replayed: bool = Field(description="the item's idempotency_key was used before: nothing was opened")


class NoteOut(BaseModel):
    id: UUID
    incident_id: UUID
    author: str
    body: str
    created_at: datetime


class TimelineEventOut(BaseModel):
    id: UUID
    incident_id: UUID
    kind: str
    actor: str
    message: str
    data: dict[str, Any]
    created_at: datetime


class LinkedAlert(BaseModel):
    alert_id: UUID
    service: str
    severity: str
    message: str
    labels: dict[str, str]
    status: str
    timestamp: datetime
    received_at: datetime


class IncidentDetail(IncidentOut):
    alerts: list[LinkedAlert] = Field(
        description=f"its newest {DETAIL_ALERTS} alerts, oldest first; every one, paginated: alert-ingestion's "
        "GET /api/v1/alerts?incident_id=<id>"
    )
    alerts_total: int = Field(description=f"how many alerts it has (counted up to {TOTAL_COUNT_CAP:,})")
    notes: list[NoteOut]
    timeline: list[TimelineEventOut]


class IncidentMetrics(BaseModel):
    incident_id: UUID
    status: Status
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    mtta_seconds: float | None
    mttr_seconds: float | None


class IncidentSummary(BaseModel):
    by_status: dict[str, int]
    open_by_severity: dict[str, int]
    mtta_avg_seconds: float | None
    mttr_avg_seconds: float | None
