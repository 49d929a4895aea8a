"""Units of the shared access layer: presented secrets, the resolver's cache and expiry, policies."""

import asyncio
from types import SimpleNamespace

import pytest
from starlette.requests import Request

from platform_common.auth.credentials import SESSION_COOKIE, CredentialResolver, digest, new_secret
from platform_common.auth.errors import Unauthenticated
from platform_common.auth.policy import ADMIN, INGEST, INTERNAL, PUBLIC, RESPONDER, VIEWER
from platform_common.auth.principal import SERVICE, Principal, Role, anonymous


def request(headers: dict[str, str] | None = None) -> Request:
    raw = [(key.lower().encode(), value.encode()) for key, value in (headers or {}).items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw})


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class CountingResolver(CredentialResolver):
    """The real resolver with the database lookup replaced by a dict, counting lookups."""

    def __init__(self, known: dict[str, Principal], **kwargs) -> None:
        super().__init__(SimpleNamespace(), **kwargs)
        self.known = known
        self.lookups = 0

    def _lookup(self, key: str) -> Principal | None:
        self.lookups += 1
        principal = self.known.get(key)
        self._cache[key] = (self._clock() + self._cache_seconds, principal)
        return principal


def resolve(resolver: CredentialResolver, headers: dict[str, str] | None = None) -> Principal:
    return asyncio.run(resolver.resolve(request(headers)))


def test_secrets_are_random_prefixed_and_hashed_with_sha256() -> None:
    first, second = new_secret("token"), new_secret("token")
    assert first != second and first.startswith("ipt_") and len(first) > 40
    assert new_secret("integration").startswith("ipk_")
    assert digest(first) == digest(first) and len(digest(first)) == 64 and first not in digest(first)


def test_no_credential_is_the_anonymous_role_or_401() -> None:
    assert resolve(CountingResolver({}, service_token=None, anonymous_role=Role.admin)).role is Role.admin
    with pytest.raises(Unauthenticated):
        resolve(CountingResolver({}, service_token=None, anonymous_role=Role.none))


def test_another_scheme_or_an_empty_bearer_is_refused_even_with_anonymous_admin() -> None:
    resolver = CountingResolver({}, service_token=None, anonymous_role=Role.admin)
    for header in ("Basic YWRtaW46YWRtaW4=", "Bearer ", "Token abc"):
        with pytest.raises(Unauthenticated):
            resolve(resolver, {"Authorization": header})


def test_the_service_credential_needs_no_lookup() -> None:
    resolver = CountingResolver({}, service_token="s" * 30, anonymous_role=Role.none)
    assert resolve(resolver, {"Authorization": "Bearer " + "s" * 30}) is SERVICE
    assert resolver.lookups == 0


def test_answers_are_cached_for_the_configured_seconds_then_looked_up_again() -> None:
    clock = FakeClock()
    alice = Principal("user", Role.responder, "Alice")
    known = {digest("ipt_alice"): alice}
    resolver = CountingResolver(known, service_token=None, anonymous_role=Role.none, cache_seconds=2, clock=clock)
    assert resolve(resolver, {"Authorization": "Bearer ipt_alice"}) == alice
    known.clear()  # revoked
    clock.now = 1.9
    assert resolve(resolver, {"Authorization": "Bearer ipt_alice"}) == alice and resolver.lookups == 1
    clock.now = 2.1
    with pytest.raises(Unauthenticated):
        resolve(resolver, {"Authorization": "Bearer ipt_alice"})
    assert resolver.lookups == 2


def test_the_session_cookie_is_a_credential() -> None:
    bob = Principal("user", Role.viewer, "Bob")
    resolver = CountingResolver({digest("ips_bob"): bob}, service_token=None, anonymous_role=Role.none)
    raw = [(b"cookie", f"{SESSION_COOKIE}=ips_bob".encode())]
    assert asyncio.run(resolver.resolve(Request({"type": "http", "method": "GET", "path": "/", "headers": raw}))) == bob


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [
        (anonymous(Role.none), {PUBLIC}),
        (anonymous(Role.viewer), {PUBLIC, VIEWER}),
        (Principal("user", Role.responder, "r"), {PUBLIC, VIEWER, RESPONDER, INGEST}),
        (Principal("user", Role.admin, "a"), {PUBLIC, VIEWER, RESPONDER, ADMIN, INTERNAL, INGEST}),
        (Principal("integration", Role.none, "i"), {PUBLIC, INGEST}),
        (SERVICE, {PUBLIC, VIEWER, RESPONDER, ADMIN, INTERNAL, INGEST}),
    ],
)
def test_policies(principal: Principal, allowed: set) -> None:
    for policy in (PUBLIC, VIEWER, RESPONDER, ADMIN, INTERNAL, INGEST):
        assert policy.allows(principal) is (policy in allowed), policy.name


def test_only_anonymous_and_service_callers_may_name_the_actor() -> None:
    assert anonymous(Role.admin).actor("alice") == "alice"
    assert anonymous(Role.admin).actor() == "anonymous"
    assert SERVICE.actor("oncall-service") == "oncall-service"
    assert Principal("user", Role.responder, "Rita").actor("someone else") == "Rita"


def test_the_audit_log_never_records_a_secret_from_the_path() -> None:
    from platform_common.auth.audit import _entry

    scope = {
        "method": "POST",
        "path": "/api/v1/page-actions/eyJzZWNyZXQ.c2ln",
        "path_params": {"token": "eyJzZWNyZXQ.c2ln"},
        "state": {},
        "client": ("127.0.0.1", 5000),
    }
    entry = _entry(scope, 200)
    assert "eyJzZWNyZXQ" not in entry["path"] + (entry["target"] or "")
    revoked = _entry({**scope, "path": "/api/v1/users/u1/tokens/t1", "path_params": {"user_id": "u1", "token_id": "t1"}}, 204)
    assert revoked["target"] == "user_id=u1,token_id=t1"
