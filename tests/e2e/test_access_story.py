"""Identity and access over real processes (SPEC §10), the way a team turns it on:
ANONYMOUS_ROLE=none and a BOOTSTRAP_ADMIN_TOKEN. The admin creates a viewer, a responder and an
integration; each may do exactly what its role allows; the timeline and the audit log name the
responder; a revoked token is refused within seconds."""

import secrets
import time

import httpx
import pytest

pytestmark = pytest.mark.e2e

REVOCATION_BOUND_SECONDS = 5  # SPEC §10: a revoked secret is refused by every replica within 5 s


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def eventually(check, *, within: float, what: str):
    """Poll `check` until it returns a truthy value; fail after `within` seconds (a contract bound)."""
    deadline = time.monotonic() + within
    while True:
        if result := check():
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {within} s")
        time.sleep(0.1)


def test_roles_tokens_integrations_and_the_audit_log(start_stack):
    admin_token = secrets.token_urlsafe(32)
    env = {"ANONYMOUS_ROLE": "none", "BOOTSTRAP_ADMIN_TOKEN": admin_token, "SERVICE_TOKEN": secrets.token_urlsafe(32)}
    stack = start_stack("alert-ingestion", "incident-management", "oncall-service", env=env)
    alerts, incidents, oncall = (stack.url(name) for name in ("alert-ingestion", "incident-management", "oncall-service"))
    admin = bearer(admin_token)
    alert = {"service": "checkout", "severity": "critical", "message": "payments failing"}

    assert httpx.post(f"{alerts}/api/v1/alerts", json=alert).status_code == 401
    refused = httpx.get(f"{incidents}/api/v1/incidents")
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")

    def user(role: str) -> tuple[str, str]:
        created = httpx.post(
            f"{oncall}/api/v1/users", json={"name": f"Rita {role}", "email": f"{role}@example.org", "role": role}, headers=admin
        )
        assert created.status_code == 201, created.text
        token = httpx.post(f"{oncall}/api/v1/users/{created.json()['id']}/tokens", json={"name": "cli"}, headers=admin).json()
        return created.json()["id"], token

    _, viewer = user("viewer")
    responder_id, responder = user("responder")
    integration = httpx.post(f"{oncall}/api/v1/integrations", json={"name": "prometheus", "kind": "generic"}, headers=admin)
    assert integration.status_code == 201
    key = bearer(integration.json()["key"])

    sent = httpx.post(f"{alerts}/api/v1/alerts", json=alert, headers=key)
    assert sent.status_code == 201 and sent.json()["status"] == "correlated", sent.text
    incident_id = sent.json()["incident_id"]
    assert httpx.get(f"{incidents}/api/v1/incidents", headers=key).status_code == 403

    url = f"{incidents}/api/v1/incidents/{incident_id}"
    assert httpx.get(url, headers=bearer(viewer["token"])).status_code == 200
    assert httpx.patch(url, json={"status": "acknowledged"}, headers=bearer(viewer["token"])).status_code == 403
    acked = httpx.patch(url, json={"status": "acknowledged", "author": "someone else"}, headers=bearer(responder["token"]))
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    timeline = httpx.get(f"{url}/timeline", headers=bearer(viewer["token"])).json()
    assert [event["actor"] for event in timeline if event["kind"] == "acknowledged"] == ["Rita responder"]

    revoked = httpx.delete(f"{oncall}/api/v1/users/{responder_id}/tokens/{responder['id']}", headers=admin)
    assert revoked.status_code == 204
    eventually(
        lambda: httpx.get(f"{incidents}/api/v1/incidents", headers=bearer(responder["token"])).status_code == 401,
        within=REVOCATION_BOUND_SECONDS,
        what="the revoked token refused by incident-management",
    )

    def acknowledgement_audited():
        entries = httpx.get(f"{oncall}/api/v1/audit", params={"actor": "Rita responder"}, headers=admin).json()
        return [entry for entry in entries if entry["method"] == "PATCH" and entry["path"] == f"/api/v1/incidents/{incident_id}"]

    audited = eventually(acknowledgement_audited, within=10, what="the acknowledgement in the audit log")
    assert audited[0]["status"] == 200 and audited[0]["role"] == "responder" and audited[0]["service"] == "incident-management"
    assert httpx.get(f"{oncall}/api/v1/audit", headers=bearer(viewer["token"])).status_code == 403
