"""Request and response models of the heartbeat API."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from alert_ingestion.heartbeats.state import State
from alert_ingestion.schemas import SeverityIn
from platform_common.severity import Severity
from platform_common.validation import Text

MAX_SECONDS = 31 * 86400  # a monthly job
Name = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class HeartbeatIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"name": "prometheus-watchdog", "service": "monitoring", "interval_seconds": 60, "grace_seconds": 60}
        },
    )

    name: Name = Field(description="unique; the missed alert reads `Heartbeat <name> missed`")
    service: Name = Field(description="the service (team) whose incident opens when a ping is missed")
    interval_seconds: int = Field(strict=True, ge=1, le=MAX_SECONDS, description="how often a ping is expected")
    grace_seconds: int = Field(strict=True, ge=0, le=MAX_SECONDS, description="how late a ping may be before it counts as missed")
    severity: SeverityIn = Field(default=Severity.CRITICAL, description="of the missed alert; default critical")


class HeartbeatOut(BaseModel):
    """`state`: `up`; `late` (the interval passed without a ping, within the grace); `down` (interval +
    grace passed: its incident is open until the next ping). `due_at`: when it is down without a ping."""

    id: UUID
    name: str
    service: str
    severity: Severity
    interval_seconds: int
    grace_seconds: int
    state: State
    created_at: datetime
    last_ping_at: datetime | None
    due_at: datetime
    down_since: datetime | None
    alert_id: UUID | None = Field(description="the alert of the current miss, while down")
    incident_id: UUID | None = Field(description="that alert's incident, once correlated")


class HeartbeatCreated(HeartbeatOut):
    ping_url: str = Field(description="POST or GET it to ping; it carries the heartbeat's secret and is shown only this once")
