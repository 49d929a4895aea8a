"""Who is calling: one principal type for users, integrations, peer services and anonymous callers."""

from dataclasses import dataclass
from enum import IntEnum
from typing import Literal
from uuid import UUID

PrincipalKind = Literal["anonymous", "user", "integration", "service"]


class Role(IntEnum):
    """Each role includes the ones before it."""

    none = 0
    viewer = 1
    responder = 2
    admin = 3

    @classmethod
    def parse(cls, name: str) -> "Role":
        return cls[name]


@dataclass(frozen=True, slots=True)
class Principal:
    kind: PrincipalKind
    role: Role
    name: str
    id: UUID | None = None
    email: str | None = None
    integration_kind: str | None = None
    service: str | None = None  # an integration's alert source service, when it is bound to one

    def actor(self, claimed: str | None = None) -> str:
        """The name written on timelines and in the audit log. An authenticated person or integration is
        named by its identity; only anonymous callers (the local profile) and peer services, which act on
        someone's behalf, may name the actor themselves."""
        if self.kind in ("anonymous", "service") and claimed:
            return claimed
        return self.name


def anonymous(role: Role) -> Principal:
    return Principal(kind="anonymous", role=role, name="anonymous")


SERVICE = Principal(kind="service", role=Role.admin, name="service")
