"""Secrets and how a presented one becomes a principal.

Every secret (API token, integration key, session) is 32 random bytes with a prefix telling its kind,
shown once and stored only as its SHA-256 digest: a digest of a high-entropy secret cannot be reversed,
and looking it up by digest compares nothing secret character by character. Passwords are different
(low entropy) and are hashed with argon2id by oncall-service.

`CredentialResolver` answers "who is this request?": the service credential is compared in constant
time in memory; anything else is looked up by digest in the view `oncall.principals`, and the answer
(including "unknown") is cached for `cache_seconds`, so a revocation holds on every replica within that.
"""

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Literal

from anyio import to_thread
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from starlette.requests import HTTPConnection

from platform_common.auth.errors import Unauthenticated
from platform_common.auth.principal import SERVICE, Principal, Role, anonymous
from platform_common.db import autocommitted
from platform_common.errors import DependencyUnavailable

logger = logging.getLogger(__name__)

SecretKind = Literal["token", "integration", "session", "ping", "calendar"]
_PREFIXES: dict[SecretKind, str] = {"token": "ipt_", "integration": "ipk_", "session": "ips_", "ping": "iph_", "calendar": "ipc_"}
SESSION_COOKIE = "incident_session"
_CACHE_LIMIT = 50_000

_LOOKUP = text(
    "SELECT kind, principal_id, name, email, role, integration_kind, service FROM oncall.principals "
    "WHERE secret_hash = :digest AND (expires_at IS NULL OR expires_at > now()) LIMIT 1"
)


def new_secret(kind: SecretKind) -> str:
    return _PREFIXES[kind] + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def presented_secret(connection: HTTPConnection) -> str | None:
    """The Bearer token, else the session cookie, else None. Another scheme is refused, not ignored."""
    header = connection.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("Use `Authorization: Bearer <token>`")
        return value.strip()
    return connection.cookies.get(SESSION_COOKIE) or None


class CredentialResolver:
    def __init__(
        self,
        engine: Engine,
        *,
        service_token: str | None,
        anonymous_role: Role,
        cache_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._service_token = service_token.encode() if service_token else None
        self._anonymous = anonymous(anonymous_role)
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    async def resolve(self, connection: HTTPConnection) -> Principal:
        secret = presented_secret(connection)
        if secret is None:
            if self._anonymous.role is Role.none:
                raise Unauthenticated("Credentials required")
            return self._anonymous
        if self._service_token is not None and hmac.compare_digest(secret.encode("utf-8", "surrogatepass"), self._service_token):
            return SERVICE
        principal = await self.resolve_secret(secret)
        if principal is None:
            raise Unauthenticated("Invalid, expired or revoked credential")
        return principal

    async def resolve_secret(self, secret: str) -> Principal | None:
        """The user or integration a secret stands for (looked up in `oncall.principals`, cached), or None
        when it is unknown, expired or revoked. For secrets sent elsewhere than the Authorization header
        (the Events API's `routing_key`); the service credential is not one of them."""
        key = digest(secret)
        cached = self._cached(key)
        return cached[1] if cached is not None else await to_thread.run_sync(self._lookup, key)

    def forget(self, secret: str) -> None:
        """Drop a secret from this process's cache at once (its own logout); other processes follow
        within `cache_seconds`."""
        with self._lock:
            self._cache.pop(digest(secret), None)

    def _cached(self, key: str) -> tuple[float, Principal | None] | None:
        entry = self._cache.get(key)
        if entry is not None and entry[0] > self._clock():
            return entry
        return None

    def _lookup(self, key: str) -> Principal | None:
        try:
            with autocommitted(self._engine) as connection:
                row = connection.execute(_LOOKUP, {"digest": key}).mappings().first()
        except DBAPIError as exc:
            logger.warning("credential lookup failed: %s", type(exc.orig).__name__)
            raise DependencyUnavailable("The identity store is unavailable") from exc
        principal = _principal(row) if row is not None else None
        with self._lock:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = (self._clock() + self._cache_seconds, principal)
        return principal


def _principal(row) -> Principal:
    if row["kind"] == "integration":
        return Principal(
            kind="integration",
            role=Role.none,
            name=row["name"],
            id=row["principal_id"],
            integration_kind=row["integration_kind"],
            service=row["service"],
        )
    return Principal(kind="user", role=Role.parse(row["role"]), name=row["name"], id=row["principal_id"], email=row["email"])
