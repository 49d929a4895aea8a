"""Acknowledge (or resolve) from the page: signed, single-use, expiring links carried by every page.

A link is `{PUBLIC_URL}/api/v1/page-actions/<token>`; the token is `<payload>.<signature>`, both
base64url without padding. The payload is JSON `{incident_id, action, who, nonce, expires_at}` (who: the
paged person, `{"user_id", "name"}` for a platform user, else `{"name", "email"}`; expires_at: Unix
seconds) and the signature is HMAC-SHA256 of the payload text under `PAGE_LINK_SECRET`. Whoever holds
the link may act once, as that person, until it expires: incident-management stores the nonce of every
used link (`incident_management.pagelinks`). The services that page (incident-management's pager,
oncall-service's escalations) build the links; incident-management checks them.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args
from uuid import UUID

from pydantic import Field, model_validator

from platform_common.clock import utcnow
from platform_common.settings import ServiceSettings, refuse_weak_secret

Action = Literal["acknowledge", "resolve"]
ACTIONS: tuple[Action, ...] = get_args(Action)
PATH = "/api/v1/page-actions"
MAX_TOKEN_LENGTH = 4096
_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
LOCAL_PAGE_LINK_SECRET = "local-page-link-secret"  # noqa: S105 - the documented local-only default, refused in production


class PageLinkSettings(ServiceSettings):
    """Settings of the services that build or check page links."""

    page_link_secret: str = LOCAL_PAGE_LINK_SECRET
    page_link_ttl_seconds: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)
    # Where people open the links: the gateway (web UI) of the platform.
    public_url: str = "http://127.0.0.1:8080"

    @model_validator(mode="after")
    def _strong_page_link_secret(self) -> "PageLinkSettings":
        if self.environment == "production":
            if self.page_link_secret == LOCAL_PAGE_LINK_SECRET:
                raise ValueError("production mode refuses the local default PAGE_LINK_SECRET")
            refuse_weak_secret("PAGE_LINK_SECRET", self.page_link_secret)
        return self


class LinkRefused(Exception):
    """A token that is not a valid link (`malformed`, `signature`) or no longer one (`expired`)."""

    def __init__(self, reason: Literal["malformed", "signature", "expired"], message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Who:
    """The person a page went to: a platform user (by id) or a name and an email."""

    name: str
    email: str | None = None
    user_id: str | None = None

    def to_json(self) -> dict[str, str]:
        if self.user_id is not None:
            return {"user_id": self.user_id, "name": self.name}
        return {"name": self.name, "email": self.email or ""}


@dataclass(frozen=True)
class PageAction:
    incident_id: UUID
    action: Action
    who: Who
    nonce: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode("ascii"), hashlib.sha256).digest())


def sign(action: PageAction, secret: str) -> str:
    payload = {
        "incident_id": str(action.incident_id),
        "action": action.action,
        "who": action.who.to_json(),
        "nonce": action.nonce,
        "expires_at": int(action.expires_at.timestamp()),
    }
    encoded = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{encoded}.{_signature(secret, encoded)}"


def _parse(payload: dict) -> PageAction:
    who = payload["who"]
    if payload["action"] not in ACTIONS or not isinstance(who.get("name"), str) or not isinstance(payload["nonce"], str):
        raise ValueError("unknown action or person")
    return PageAction(
        incident_id=UUID(payload["incident_id"]),
        action=payload["action"],
        who=Who(name=who["name"], email=who.get("email"), user_id=who.get("user_id")),
        nonce=payload["nonce"],
        expires_at=datetime.fromtimestamp(int(payload["expires_at"]), UTC),
    )


def verify(token: str, secret: str, *, now: datetime) -> PageAction:
    """The action a token stands for; raises `LinkRefused` when it is malformed, not signed with
    `secret` (changed, or signed elsewhere) or expired. The signature is checked before anything in
    the payload is believed."""
    if len(token) > MAX_TOKEN_LENGTH or not _TOKEN.fullmatch(token):
        raise LinkRefused("malformed", "This is not a page link.")
    encoded, signature = token.split(".")
    if not hmac.compare_digest(_signature(secret, encoded), signature):
        raise LinkRefused("signature", "This link's signature does not match: it was changed, or it was not issued by this platform.")
    try:
        action = _parse(json.loads(_unb64(encoded)))
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise LinkRefused("malformed", "This is not a page link.") from exc
    if action.expires_at <= now:
        raise LinkRefused("expired", f"This link expired at {action.expires_at:%Y-%m-%d %H:%M} UTC.")
    return action


@dataclass(frozen=True)
class PageLinker:
    """Issues and checks the links of pages: one per action, for the person paged."""

    secret: str
    ttl_seconds: int
    public_url: str
    clock: Callable[[], datetime] = field(default=utcnow, compare=False)

    @classmethod
    def from_settings(cls, settings: PageLinkSettings) -> "PageLinker":
        return cls(settings.page_link_secret, settings.page_link_ttl_seconds, settings.public_url.rstrip("/"))

    @classmethod
    def from_environment(cls) -> "PageLinker":
        return cls.from_settings(PageLinkSettings())

    def links(self, incident_id: UUID, who: Who) -> dict[Action, str]:
        expires_at = self.clock() + timedelta(seconds=self.ttl_seconds)
        tokens = {
            action: sign(PageAction(incident_id, action, who, secrets.token_urlsafe(16), expires_at), self.secret) for action in ACTIONS
        }
        return {action: f"{self.public_url}{PATH}/{token}" for action, token in tokens.items()}

    def text(self, incident_id: UUID, who: Who) -> str:
        """The lines a page's message ends with: one link per action."""
        links = self.links(incident_id, who)
        return "\n\n" + "\n".join(f"{action.capitalize()}: {url}" for action, url in links.items())

    def verify(self, token: str) -> PageAction:
        return verify(token, self.secret, now=self.clock())
