"""Request and response models of the identity API (SPEC §10)."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints, model_validator

from oncall.schemas import Email, Name
from platform_common.validation import Text

RoleName = Literal["viewer", "responder", "admin"]
IntegrationKind = Literal["generic", "alertmanager", "grafana", "pagerduty"]
Password = Annotated[Text, StringConstraints(min_length=8, max_length=200)]


class UserCreate(BaseModel):
    name: Name
    email: Email
    role: RoleName = "viewer"
    password: Password | None = None


class UserUpdate(BaseModel):
    name: Name | None = None
    email: Email | None = None
    role: RoleName | None = None
    password: Password | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> "UserUpdate":
        if not self.model_fields_set:
            raise ValueError("give at least one of name, email, role, password")
        return self


class UserOut(BaseModel):
    id: UUID
    name: str
    email: str
    role: RoleName
    has_password: bool
    created_at: datetime
    updated_at: datetime


class Me(BaseModel):
    id: UUID | None
    name: str
    email: str | None
    role: str
    kind: str = Field(description="user, integration, service or anonymous")


class Login(BaseModel):
    email: Annotated[Text, StringConstraints(max_length=320)]
    password: Annotated[Text, StringConstraints(max_length=200)]


class TokenCreate(BaseModel):
    name: Name


class TokenOut(BaseModel):
    id: UUID
    name: str
    created_at: datetime
    revoked_at: datetime | None = None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret: shown this once, stored only as a hash")


class IntegrationCreate(BaseModel):
    name: Name
    kind: IntegrationKind = "generic"
    service: Name | None = Field(default=None, description="The alert source's service, when it has one")


class IntegrationOut(BaseModel):
    id: UUID
    name: str
    kind: IntegrationKind
    service: str | None
    created_at: datetime
    revoked_at: datetime | None = None


class IntegrationCreated(IntegrationOut):
    key: str = Field(description="The integration key (a Bearer token / routing key): shown this once")


class TeamCreate(BaseModel):
    name: Name
    member_ids: list[UUID] = Field(default_factory=list, max_length=500)


class TeamOut(BaseModel):
    id: UUID
    name: str
    members: list[UserOut]


class AuditEntry(BaseModel):
    at: datetime
    service: str
    actor: str
    actor_kind: str
    role: str | None
    method: str
    path: str
    status: int
    target: str | None
    request_id: str | None
    source: str | None
