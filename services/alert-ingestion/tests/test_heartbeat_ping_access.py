"""Who may ping a heartbeat when anonymous callers may do nothing (ANONYMOUS_ROLE=none): the ping URL's
own token, or an integration key (bound to the heartbeat's service or to none), a responder, an admin or
a service; a wrong token, no credential, a viewer or another service's integration key are refused and
change nothing. Keys are created in a real oncall-service and resolved from its `oncall.principals`."""

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.support.apps import unreachable_url

ADMIN_TOKEN = "heartbeat-access-admin-token-0123456789"
SERVICE_TOKEN = "heartbeat-access-service-token-0123456789"
COMMON = {"environment": "test", "background_workers": False, "anonymous_role": "none", "auth_cache_seconds": 0, "http_retries": 0}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def clients(database_url, clean_db) -> Iterator[tuple[TestClient, TestClient]]:
    from alert_ingestion.config import Settings as IngestionSettings
    from alert_ingestion.main import create_app as ingestion
    from oncall.config import Settings as OnCallSettings
    from oncall.main import create_app as oncall

    values = {**COMMON, "database_url": database_url, "service_token": SERVICE_TOKEN}
    peers = {"incident_management_url": unreachable_url(), "notification_service_url": unreachable_url()}
    with (
        TestClient(oncall(OnCallSettings(**values, **peers, bootstrap_admin_token=ADMIN_TOKEN))) as identity,
        TestClient(ingestion(IngestionSettings(**values, incident_management_url=peers["incident_management_url"]))) as alerts,
    ):
        yield identity, alerts


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def key(identity: TestClient, service: str | None = None) -> str:
    body = {"name": f"hb-{uuid.uuid4().hex[:8]}", "kind": "generic", **({"service": service} if service else {})}
    return identity.post("/api/v1/integrations", json=body, headers=ADMIN).json()["key"]


def user_token(identity: TestClient, role: str) -> str:
    user = identity.post(
        "/api/v1/users", json={"name": role, "email": f"{role}-{uuid.uuid4().hex[:6]}@example.org", "role": role}, headers=ADMIN
    ).json()
    return identity.post(f"/api/v1/users/{user['id']}/tokens", json={"name": "t"}, headers=ADMIN).json()["token"]


def test_ping_is_accepted_with_its_token_or_an_ingest_credential_and_refused_otherwise(clients):
    identity, alerts = clients
    created = alerts.post(
        "/api/v1/heartbeats", json={"name": "cron", "service": "billing", "interval_seconds": 60, "grace_seconds": 0}, headers=ADMIN
    )
    assert created.status_code == 201, created.text
    heartbeat = created.json()
    path = f"/api/v1/heartbeats/{heartbeat['id']}/ping"
    token = heartbeat["ping_url"].split("token=")[1]

    refused = {
        "no credential": (alerts.post(path), 401),
        "a wrong token": (alerts.post(path, params={"token": "iph_" + "x" * 43}), 401),
        "another heartbeat's kind of secret": (alerts.post(path, params={"token": key(identity)}), 401),
        "a viewer": (alerts.post(path, headers=bearer(user_token(identity, "viewer"))), 403),
        "another service's integration key": (alerts.post(path, headers=bearer(key(identity, "payments"))), 403),
    }
    wrong = {name: answer.status_code for name, (answer, expected) in refused.items() if answer.status_code != expected}
    assert not wrong, wrong
    assert refused["no credential"][0].headers["www-authenticate"].startswith("Bearer")
    assert alerts.get(f"/api/v1/heartbeats/{heartbeat['id']}", headers=ADMIN).json()["last_ping_at"] is None, "refusals change nothing"

    accepted = {
        "its token (GET)": alerts.get(path, params={"token": token}),
        "its token (POST)": alerts.post(path, params={"token": token}),
        "an integration key": alerts.post(path, headers=bearer(key(identity))),
        "this service's integration key": alerts.post(path, headers=bearer(key(identity, "billing"))),
        "a responder": alerts.post(path, headers=bearer(user_token(identity, "responder"))),
        "the service credential": alerts.post(path, headers=bearer(SERVICE_TOKEN)),
    }
    wrong = {name: (answer.status_code, answer.text[:100]) for name, answer in accepted.items() if answer.status_code != 200}
    assert not wrong, wrong


def test_heartbeats_are_read_by_viewers_and_managed_by_admins(clients):
    identity, alerts = clients
    viewer = bearer(user_token(identity, "viewer"))
    responder = bearer(user_token(identity, "responder"))
    body = {"name": "etl", "service": "data", "interval_seconds": 60, "grace_seconds": 30}
    assert alerts.post("/api/v1/heartbeats", json=body, headers=responder).status_code == 403
    assert alerts.get("/api/v1/heartbeats").status_code == 401
    heartbeat = alerts.post("/api/v1/heartbeats", json=body, headers=ADMIN).json()
    assert [h["name"] for h in alerts.get("/api/v1/heartbeats", headers=viewer).json()] == ["etl"]
    assert alerts.delete(f"/api/v1/heartbeats/{heartbeat['id']}", headers=viewer).status_code == 403
    assert alerts.delete(f"/api/v1/heartbeats/{heartbeat['id']}", headers=ADMIN).status_code == 204
