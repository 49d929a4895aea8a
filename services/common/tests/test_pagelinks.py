"""Signing and checking page links (platform_common.pagelinks): pure, no database."""

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from platform_common.pagelinks import LOCAL_PAGE_LINK_SECRET, LinkRefused, PageAction, PageLinker, PageLinkSettings, Who, sign, verify

SECRET = "unit-test-page-link-secret-0123456789"
NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
INCIDENT = uuid.UUID("5f0c3a52-8a0e-4d7b-9b44-0b0d8c6e2f11")


def _action(**changes) -> PageAction:
    values = {
        "incident_id": INCIDENT,
        "action": "acknowledge",
        "who": Who("Alice", "alice@example.org"),
        "nonce": "n-1",
        "expires_at": NOW + timedelta(hours=1),
    }
    return PageAction(**{**values, **changes})


def _refused(token: str, secret: str = SECRET, now: datetime = NOW) -> str:
    with pytest.raises(LinkRefused) as raised:
        verify(token, secret, now=now)
    return raised.value.reason


def _payload(token: str) -> dict:
    encoded = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))


def _reencoded(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()


def test_a_signed_link_verifies_to_what_was_signed():
    for who in (Who("Alice", "alice@example.org"), Who("Rita", user_id="8a1c2b7e-0000-4000-8000-000000000001")):
        action = _action(who=who, action="resolve")
        assert verify(sign(action, SECRET), SECRET, now=NOW) == action


def test_the_payload_names_incident_action_person_nonce_and_expiry():
    payload = _payload(sign(_action(), SECRET))
    assert payload == {
        "incident_id": str(INCIDENT),
        "action": "acknowledge",
        "who": {"name": "Alice", "email": "alice@example.org"},
        "nonce": "n-1",
        "expires_at": int((NOW + timedelta(hours=1)).timestamp()),
    }


def test_a_changed_payload_is_refused_as_a_bad_signature():
    token = sign(_action(), SECRET)
    _, signature = token.split(".")
    for change in ({"action": "resolve"}, {"who": {"name": "Mallory", "email": "m@example.org"}}, {"expires_at": 4102444800}):
        forged = f"{_reencoded({**_payload(token), **change})}.{signature}"
        assert _refused(forged) == "signature"


def test_a_changed_signature_or_another_secret_is_refused():
    token = sign(_action(), SECRET)
    payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert _refused(f"{payload}.{flipped}") == "signature"
    assert _refused(token, secret="another-platform-secret-0123456789") == "signature"
    assert _refused(sign(_action(), "another-platform-secret-0123456789")) == "signature"


def test_an_expired_link_is_refused_at_its_expiry():
    token = sign(_action(), SECRET)
    assert verify(token, SECRET, now=NOW + timedelta(minutes=59)).nonce == "n-1"
    assert _refused(token, now=NOW + timedelta(hours=1)) == "expired"


@pytest.mark.parametrize("token", ["", "nodot", ".sig", "payload.", "x" * 5000 + ".y", "a.b.c", "é.ü"])
def test_garbage_is_refused(token: str):
    assert _refused(token) in ("malformed", "signature")


def test_a_well_signed_token_with_an_unknown_action_is_malformed():
    payload = _reencoded({**_payload(sign(_action(), SECRET)), "action": "delete"})
    signature = base64.urlsafe_b64encode(hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    assert _refused(f"{payload}.{signature}") == "malformed"


def test_the_linker_issues_one_single_use_link_per_action_valid_for_the_ttl():
    linker = PageLinker(SECRET, 3600, "https://oncall.example.org", clock=lambda: NOW)
    links = linker.links(INCIDENT, Who("Alice", "alice@example.org"))
    assert set(links) == {"acknowledge", "resolve"}
    actions = {name: linker.verify(url.rsplit("/", 1)[1]) for name, url in links.items()}
    assert all(url.startswith("https://oncall.example.org/api/v1/page-actions/") for url in links.values())
    assert {name: a.action for name, a in actions.items()} == {"acknowledge": "acknowledge", "resolve": "resolve"}
    assert actions["acknowledge"].nonce != actions["resolve"].nonce
    assert actions["acknowledge"].expires_at == NOW + timedelta(hours=1)
    text = linker.text(INCIDENT, Who("Alice", "alice@example.org"))
    assert "\nAcknowledge: https://oncall.example.org/api/v1/page-actions/" in text and "\nResolve: https://" in text


def test_production_refuses_the_local_or_a_weak_secret(monkeypatch):
    for name in ("PLATFORM_CLOCK_OFFSET_FILE", "PAGE_LINK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    production = {"environment": "production", "anonymous_role": "none", "service_token": "s" * 40}
    production["database_url"] = "postgresql+psycopg://incident:a-real-password-0123456789@db/incident_platform"
    for weak in (LOCAL_PAGE_LINK_SECRET, "short", "changeme"):
        with pytest.raises(ValueError, match="PAGE_LINK_SECRET"):
            PageLinkSettings(**production, page_link_secret=weak)
    assert PageLinkSettings(**production, page_link_secret="p" * 40).page_link_ttl_seconds == 24 * 3600
    assert PageLinkSettings().page_link_secret == LOCAL_PAGE_LINK_SECRET  # the local profile works as shipped
