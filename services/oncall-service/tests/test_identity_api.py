"""Identity and access on a real database: users, roles, tokens, integrations, login, audit (SPEC §10)."""

import logging
import time
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from oncall.main import create_app

ADMIN_TOKEN = "test-bootstrap-admin-token-0123456789"


@pytest.fixture
def app_client(oncall_settings, clean_db) -> Iterator[TestClient]:
    settings = oncall_settings(anonymous_role="none", bootstrap_admin_token=ADMIN_TOKEN, auth_cache_seconds=0)
    with TestClient(create_app(settings)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer(ADMIN_TOKEN)


def make_user(client: TestClient, role: str, password: str | None = None) -> tuple[str, str]:
    """A user with the role and a personal token; returns (user id, token)."""
    body = {"name": f"{role.title()} Person", "email": f"{role}@example.org", "role": role}
    if password:
        body["password"] = password
    user = client.post("/api/v1/users", json=body, headers=ADMIN)
    assert user.status_code == 201, user.text
    token = client.post(f"/api/v1/users/{user.json()['id']}/tokens", json={"name": "cli"}, headers=ADMIN)
    assert token.status_code == 201, token.text
    return user.json()["id"], token.json()["token"]


def flushed_audit(client: TestClient) -> None:
    client.app.state.audit.flush()


def test_without_credentials_every_api_route_is_401_with_the_bearer_challenge(app_client: TestClient) -> None:
    answer = app_client.get("/api/v1/schedules")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json()["error"]["code"] == "unauthenticated"
    assert app_client.get("/health").status_code == 200  # liveness stays public


def test_roles_limit_what_a_token_may_do(app_client: TestClient) -> None:
    _, viewer = make_user(app_client, "viewer")
    _, responder = make_user(app_client, "responder")
    assert app_client.get("/api/v1/users", headers=bearer(viewer)).status_code == 200
    refused = app_client.post("/api/v1/users", json={"name": "X", "email": "x@example.org"}, headers=bearer(viewer))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    schedule = {"team": "api", "rotation_type": "daily", "members": [{"name": "A", "email": "a@example.org"}]}
    assert app_client.post("/api/v1/schedules", json=schedule, headers=bearer(responder)).status_code == 403
    assert app_client.post("/api/v1/schedules", json=schedule, headers=ADMIN).status_code == 201
    override = {"name": "C", "email": "c@example.org", "start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z"}
    assert app_client.post("/api/v1/schedules/api/overrides", json=override, headers=bearer(viewer)).status_code == 403
    assert app_client.post("/api/v1/schedules/api/overrides", json=override, headers=bearer(responder)).status_code == 201


def test_secrets_are_stored_only_as_hashes(app_client: TestClient, db_engine) -> None:
    user_id, token = make_user(app_client, "responder", password="correct horse battery")
    key = app_client.post("/api/v1/integrations", json={"name": "prom", "kind": "alertmanager"}, headers=ADMIN).json()["key"]
    with db_engine.connect() as connection:
        stored = " ".join(str(value) for row in connection.execute(text("SELECT * FROM oncall.api_tokens")) for value in row)
        stored += " ".join(str(value) for row in connection.execute(text("SELECT * FROM oncall.integrations")) for value in row)
        password_hash = connection.execute(text("SELECT password_hash FROM oncall.users WHERE id = :id"), {"id": user_id}).scalar_one()
    assert token not in stored and key not in stored and ADMIN_TOKEN not in stored
    assert password_hash.startswith("$argon2id$") and "correct horse" not in password_hash
    listed = app_client.get("/api/v1/integrations", headers=ADMIN).json()
    assert listed and all("key" not in item for item in listed)
    tokens = app_client.get(f"/api/v1/users/{user_id}/tokens", headers=ADMIN).json()
    assert tokens and all("token" not in item for item in tokens)


def test_a_revoked_token_or_deleted_user_is_refused(app_client: TestClient) -> None:
    user_id, token = make_user(app_client, "viewer")
    assert app_client.get("/api/v1/auth/me", headers=bearer(token)).json()["name"] == "Viewer Person"
    token_id = app_client.get(f"/api/v1/users/{user_id}/tokens", headers=ADMIN).json()[0]["id"]
    assert app_client.delete(f"/api/v1/users/{user_id}/tokens/{token_id}", headers=ADMIN).status_code == 204
    assert app_client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401
    _, second = make_user(app_client, "responder")
    responder_id = app_client.get("/api/v1/auth/me", headers=bearer(second)).json()["id"]
    assert app_client.delete(f"/api/v1/users/{responder_id}", headers=ADMIN).status_code == 204
    assert app_client.get("/api/v1/schedules", headers=bearer(second)).status_code == 401


def test_users_manage_their_own_tokens_only(app_client: TestClient) -> None:
    viewer_id, viewer = make_user(app_client, "viewer")
    responder_id, _ = make_user(app_client, "responder")
    own = app_client.post(f"/api/v1/users/{viewer_id}/tokens", json={"name": "laptop"}, headers=bearer(viewer))
    assert own.status_code == 201 and own.json()["token"].startswith("ipt_")
    assert app_client.post(f"/api/v1/users/{responder_id}/tokens", json={"name": "x"}, headers=bearer(viewer)).status_code == 403
    assert app_client.get(f"/api/v1/users/{responder_id}/tokens", headers=bearer(viewer)).status_code == 403


def test_an_integration_key_may_not_use_the_people_api(app_client: TestClient) -> None:
    created = app_client.post("/api/v1/integrations", json={"name": "am", "kind": "alertmanager", "service": "payments"}, headers=ADMIN)
    assert created.status_code == 201 and created.json()["key"].startswith("ipk_")
    key = created.json()["key"]
    assert app_client.get("/api/v1/schedules", headers=bearer(key)).status_code == 403
    assert app_client.delete(f"/api/v1/integrations/{created.json()['id']}", headers=ADMIN).status_code == 204
    assert app_client.get("/api/v1/schedules", headers=bearer(key)).status_code == 401


def test_login_sets_a_strict_http_only_session_cookie_and_logout_ends_it(app_client: TestClient) -> None:
    make_user(app_client, "responder", password="correct horse battery")
    answer = app_client.post("/api/v1/auth/login", json={"email": "RESPONDER@example.org", "password": "correct horse battery"})
    assert answer.status_code == 200 and answer.json()["role"] == "responder"
    cookie = answer.headers["set-cookie"]
    assert "incident_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    assert app_client.get("/api/v1/auth/me").json()["email"] == "responder@example.org"
    session_cookie = app_client.cookies.get("incident_session")
    assert app_client.post("/api/v1/auth/logout").status_code == 204
    app_client.cookies.set("incident_session", session_cookie)  # replaying the old cookie does not work
    assert app_client.get("/api/v1/auth/me").status_code == 401


def test_the_session_cookie_is_secure_behind_https(app_client: TestClient) -> None:
    make_user(app_client, "viewer", password="correct horse battery")
    answer = app_client.post(
        "/api/v1/auth/login",
        json={"email": "viewer@example.org", "password": "correct horse battery"},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "Secure" in answer.headers["set-cookie"]


def test_repeated_failed_logins_are_refused_with_429(app_client: TestClient) -> None:
    make_user(app_client, "viewer", password="correct horse battery")
    wrong = {"email": "viewer@example.org", "password": "not the password"}
    answers = [app_client.post("/api/v1/auth/login", json=wrong).status_code for _ in range(5)]
    assert answers == [401] * 5
    refused = app_client.post("/api/v1/auth/login", json={**wrong, "password": "correct horse battery"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert app_client.post("/api/v1/auth/login", json={"email": "nobody@example.org", "password": "whatever1"}).status_code == 401


def test_the_audit_log_records_mutations_for_admins_only(app_client: TestClient, db_engine) -> None:
    viewer_id, viewer = make_user(app_client, "viewer")
    app_client.post("/api/v1/users", json={"name": "Y", "email": "y@example.org"}, headers=bearer(viewer))  # refused: 403
    flushed_audit(app_client)
    assert app_client.get("/api/v1/audit", headers=bearer(viewer)).status_code == 403
    entries = app_client.get("/api/v1/audit", headers=ADMIN).json()
    refused = [entry for entry in entries if entry["actor"] == "Viewer Person"]
    assert refused and refused[0]["status"] == 403 and refused[0]["method"] == "POST" and refused[0]["service"] == "oncall-service"
    created = [entry for entry in entries if entry["path"] == f"/api/v1/users/{viewer_id}/tokens"]
    assert created and created[0]["actor"] == "Bootstrap admin" and created[0]["role"] == "admin" and created[0]["request_id"]
    assert {entry["actor"] for entry in app_client.get("/api/v1/audit?actor=Viewer%20Person", headers=ADMIN).json()} == {"Viewer Person"}
    with pytest.raises(DBAPIError, match="append-only"), db_engine.begin() as connection:
        connection.execute(text("UPDATE oncall.audit_log SET actor = 'someone else'"))


def test_revocation_holds_once_the_cache_expires(oncall_settings, clean_db) -> None:
    settings = oncall_settings(anonymous_role="none", bootstrap_admin_token=ADMIN_TOKEN, auth_cache_seconds=0.5)
    with TestClient(create_app(settings)) as client:
        user_id, token = make_user(client, "viewer")
        assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
        token_id = client.get(f"/api/v1/users/{user_id}/tokens", headers=ADMIN).json()[0]["id"]
        client.delete(f"/api/v1/users/{user_id}/tokens/{token_id}", headers=ADMIN)
        time.sleep(0.6)  # the cache lifetime this test configured, not a performance threshold
        assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401


def test_a_schedule_member_can_be_a_platform_user(app_client: TestClient) -> None:
    user_id, _ = make_user(app_client, "responder")
    schedule = {
        "team": "payments",
        "rotation_type": "weekly",
        "start": "2026-01-05",
        "members": [{"user_id": user_id}, {"name": "Bob", "email": "bob@example.org"}],
    }
    created = app_client.post("/api/v1/schedules", json=schedule, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.json()["members"][0] == {"name": "Responder Person", "email": "responder@example.org", "role": None, "user_id": user_id}
    app_client.patch(f"/api/v1/users/{user_id}", json={"name": "Rita Renamed"}, headers=ADMIN)
    assert app_client.get("/api/v1/schedules/payments", headers=ADMIN).json()["members"][0]["name"] == "Rita Renamed"
    unknown = app_client.put("/api/v1/schedules/payments", json={"members": [{"user_id": str(uuid.uuid4())}]}, headers=ADMIN)
    assert unknown.status_code == 422 and "unknown user ids" in unknown.text
    assert app_client.put("/api/v1/schedules/payments", json={"members": [{"name": "No Email"}]}, headers=ADMIN).status_code == 422
    app_client.delete(f"/api/v1/users/{user_id}", headers=ADMIN)
    kept = app_client.get("/api/v1/schedules/payments", headers=ADMIN).json()["members"][0]
    assert (kept["name"], kept["user_id"]) == ("Rita Renamed", None) or (kept["name"], kept["user_id"]) == ("Responder Person", None)


def test_secrets_are_never_logged(app_client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    _, token = make_user(app_client, "viewer", password="correct horse battery")
    app_client.post("/api/v1/auth/login", json={"email": "viewer@example.org", "password": "correct horse battery"})
    app_client.post("/api/v1/auth/login", json={"email": "viewer@example.org", "password": "wrong password here"})
    key = app_client.post("/api/v1/integrations", json={"name": "x"}, headers=ADMIN).json()["key"]
    app_client.get("/api/v1/auth/me", headers=bearer(token))
    logged = caplog.text
    for secret in (token, key, ADMIN_TOKEN, "correct horse battery", "wrong password here", app_client.cookies.get("incident_session")):
        assert secret and secret not in logged


def test_logout_is_immediate_on_the_serving_replica_despite_the_cache(oncall_settings, clean_db) -> None:
    settings = oncall_settings(anonymous_role="none", bootstrap_admin_token=ADMIN_TOKEN, auth_cache_seconds=5)
    with TestClient(create_app(settings)) as client:
        make_user(client, "viewer", password="correct horse battery")
        client.post("/api/v1/auth/login", json={"email": "viewer@example.org", "password": "correct horse battery"})
        cookie = client.cookies.get("incident_session")
        assert client.get("/api/v1/auth/me").status_code == 200  # now cached for 5 s
        client.post("/api/v1/auth/logout")
        client.cookies.set("incident_session", cookie)
        assert client.get("/api/v1/auth/me").status_code == 401
