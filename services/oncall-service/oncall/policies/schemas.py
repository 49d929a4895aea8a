"""Request and response models of the escalation policies API (SPEC §12)."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from oncall.schemas import Name
from platform_common.validation import NonEmptyText

MAX_STEPS = 20
MAX_TARGETS = 20
MAX_REPEAT = 10


class Target(BaseModel):
    type: Literal["user", "schedule", "team"] = Field(
        description="user: a platform user (id = user id); schedule: a team's on-call primary when the step fires "
        "(id = the schedule's team); team: every member of an identity team (id = team name)"
    )
    id: Annotated[NonEmptyText, StringConstraints(max_length=200)]


class Step(BaseModel):
    delay_minutes: Annotated[int, Field(ge=0, le=10_080, strict=True, description="Wait after this step before the next one")]
    targets: Annotated[list[Target], Field(min_length=1, max_length=MAX_TARGETS)]


class PolicyIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "name": "checkout",
                "team": "checkout-api",
                "steps": [
                    {"delay_minutes": 5, "targets": [{"type": "schedule", "id": "checkout-api"}]},
                    {"delay_minutes": 10, "targets": [{"type": "team", "id": "payments-leads"}]},
                ],
                "repeat": 2,
            }
        }
    )

    name: Name
    team: Name | None = Field(None, description="The team (incident service) whose incidents this policy governs")
    steps: Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS)]
    repeat: Annotated[int, Field(ge=0, le=MAX_REPEAT, strict=True, description="How many more times to run the steps")] = 0

    @model_validator(mode="after")
    def _repeats_wait(self) -> "PolicyIn":
        if self.repeat and not any(step.delay_minutes for step in self.steps):
            raise ValueError("a policy that repeats needs at least one step with a delay")
        return self


class PolicyOut(BaseModel):
    id: UUID
    name: str
    team: str | None
    steps: list[Step]
    repeat: int
    created_at: datetime
    updated_at: datetime
