"""People on a real database, with a real notification-service over HTTP (SPEC §12): contact methods
and notification rules (the user themself or an admin), the checks notification-service applies to
their addresses, test pages delivered for real, and the delivery plan paging follows."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from oncall.main import create_app
from tests.support.servers import serve_in_thread

ADMIN_TOKEN = "test-bootstrap-admin-token-people-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class Receiver:
    """A real HTTP endpoint that records what it is sent (webhook and Apprise json:// pages)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.app = FastAPI()
        self.app.post("/hook")(self._hook)

    async def _hook(self, request: Request) -> dict[str, str]:
        self.bodies.append(await request.json())
        return {"ok": "yes"}


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    recv = Receiver()
    with serve_in_thread(recv.app) as url:
        yield recv, f"{url}/hook"


@pytest.fixture
def notification_service(database_url: str, clean_db) -> Iterator[tuple[FastAPI, str]]:
    """The real notification-service (its delivery workers off: the test delivers), loopback allowed."""
    from notification.config import Settings as NotificationSettings
    from notification.main import create_app as create_notification_app

    settings = NotificationSettings(
        database_url=database_url, environment="test", background_workers=False, http_retries=0, webhook_allowed_hosts="127.0.0.1"
    )
    app = create_notification_app(settings)
    with serve_in_thread(app) as url:
        yield app, url


@pytest.fixture
def api(oncall_settings, notification_service) -> Iterator[TestClient]:
    settings = oncall_settings(
        anonymous_role="none", bootstrap_admin_token=ADMIN_TOKEN, auth_cache_seconds=0, notification_service_url=notification_service[1]
    )
    with TestClient(create_app(settings)) as client:
        yield client


def make_user(client: TestClient, name: str, role: str = "responder") -> tuple[str, dict[str, str]]:
    user = client.post("/api/v1/users", json={"name": name, "email": f"{name.lower()}@example.org", "role": role}, headers=ADMIN)
    assert user.status_code == 201, user.text
    token = client.post(f"/api/v1/users/{user.json()['id']}/tokens", json={"name": "cli"}, headers=ADMIN)
    return user.json()["id"], {"Authorization": f"Bearer {token.json()['token']}"}


def add_method(client: TestClient, user_id: str, auth: dict[str, str], type_: str, address: str) -> dict[str, Any]:
    response = client.post(f"/api/v1/users/{user_id}/contact-methods", json={"type": type_, "address": address}, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


def plan(client: TestClient, **query: str) -> dict[str, Any]:
    response = client.get("/api/v1/people/delivery-plan", params=query, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_user_manages_their_contact_methods_and_rules(api: TestClient, receiver):
    rita, auth = make_user(api, "Rita")
    email = add_method(api, rita, auth, "email", "rita@example.org")
    hook = add_method(api, rita, auth, "webhook", receiver[1])
    assert (email["type"], email["address"], email["user_id"]) == ("email", "rita@example.org", rita)
    listed = api.get(f"/api/v1/users/{rita}/contact-methods", headers=auth).json()
    assert [m["id"] for m in listed] == [email["id"], hook["id"]]

    rule = api.post(f"/api/v1/users/{rita}/notification-rules", json={"contact_method_id": hook["id"], "delay_minutes": 5}, headers=auth)
    assert rule.status_code == 201, rule.text
    assert api.get(f"/api/v1/users/{rita}/notification-rules", headers=auth).json() == [rule.json()]
    again = api.post(f"/api/v1/users/{rita}/notification-rules", json={"contact_method_id": hook["id"], "delay_minutes": 5}, headers=auth)
    assert again.status_code == 409

    # Deleting a contact method deletes its rules.
    assert api.delete(f"/api/v1/users/{rita}/contact-methods/{hook['id']}", headers=auth).status_code == 204
    assert api.get(f"/api/v1/users/{rita}/notification-rules", headers=auth).json() == []
    assert api.delete(f"/api/v1/users/{rita}/contact-methods/{hook['id']}", headers=auth).status_code == 404


@pytest.mark.parametrize(
    ("type_", "address", "says"),
    [
        ("email", "not-an-address", "plain address"),
        ("webhook", "ftp://hooks.example.org/x", "http(s) URL"),
        ("webhook", "http://10.1.2.3/hook", "not in WEBHOOK_ALLOWED_HOSTS"),  # notification-service's egress policy
        ("apprise", "https://example.org", "is not a URL Apprise can use"),
        ("apprise", "nosuchservice://x/y", "is not a URL Apprise can use"),
        ("apprise", "mailto://user:pass@example.org", "does not go over HTTP(S)"),
        ("sms", "+4912345", "literal_error"),
    ],
)
def test_an_address_the_platform_could_not_page_is_refused_and_nothing_is_stored(api: TestClient, type_, address, says):
    rita, auth = make_user(api, "Rita")
    response = api.post(f"/api/v1/users/{rita}/contact-methods", json={"type": type_, "address": address}, headers=auth)
    assert response.status_code == 422, response.text
    assert says in response.text
    assert api.get(f"/api/v1/users/{rita}/contact-methods", headers=auth).json() == []


def test_rules_name_one_of_the_users_own_contact_methods_and_a_bounded_delay(api: TestClient):
    rita, rita_auth = make_user(api, "Rita")
    bob, bob_auth = make_user(api, "Bob")
    bobs = add_method(api, bob, bob_auth, "email", "bob@example.org")
    foreign = api.post(
        f"/api/v1/users/{rita}/notification-rules", json={"contact_method_id": bobs["id"], "delay_minutes": 0}, headers=rita_auth
    )
    assert foreign.status_code == 422
    assert "contact_method_id" in foreign.text
    mine = add_method(api, rita, rita_auth, "email", "rita@example.org")
    for delay in (-1, 1441):
        refused = api.post(
            f"/api/v1/users/{rita}/notification-rules", json={"contact_method_id": mine["id"], "delay_minutes": delay}, headers=rita_auth
        )
        assert refused.status_code == 422
    assert api.get(f"/api/v1/users/{rita}/notification-rules", headers=rita_auth).json() == []


def test_only_the_user_themself_or_an_admin_manages_their_contact_methods(api: TestClient):
    rita, rita_auth = make_user(api, "Rita")
    _, bob_auth = make_user(api, "Bob", role="responder")
    body = {"type": "email", "address": "rita@example.org"}
    assert api.post(f"/api/v1/users/{rita}/contact-methods", json=body, headers=bob_auth).status_code == 403
    assert api.get(f"/api/v1/users/{rita}/contact-methods", headers=bob_auth).status_code == 403
    assert api.post(f"/api/v1/users/{rita}/contact-methods", json=body).status_code == 401
    by_admin = api.post(f"/api/v1/users/{rita}/contact-methods", json=body, headers=ADMIN)
    assert by_admin.status_code == 201
    assert api.delete(f"/api/v1/users/{rita}/contact-methods/{by_admin.json()['id']}", headers=bob_auth).status_code == 403
    assert len(api.get(f"/api/v1/users/{rita}/contact-methods", headers=rita_auth).json()) == 1
    # The delivery plan is for services (and admins) only.
    assert api.get("/api/v1/people/delivery-plan", params={"email": "rita@example.org"}, headers=rita_auth).status_code == 403


def test_the_delivery_plan_follows_the_rules_or_uses_every_method_at_once(api: TestClient, receiver):
    rita, auth = make_user(api, "Rita")
    assert plan(api, email="rita@example.org") == {"user_id": rita, "name": "Rita", "plan": []}  # no contact method: PAGE_CHANNELS
    assert plan(api, email="nobody@example.org") == {"user_id": None, "name": None, "plan": []}
    email = add_method(api, rita, auth, "email", "rita@example.org")
    hook = add_method(api, rita, auth, "webhook", receiver[1])
    steps = [(s["channel"], s["recipient"], s["delay_minutes"]) for s in plan(api, email="RITA@example.org")["plan"]]
    assert steps == [("email", "rita@example.org", 0), ("webhook", receiver[1], 0)]  # no rules: all at once

    for method, delay in ((hook, 5), (email, 0), (hook, 15)):
        body = {"contact_method_id": method["id"], "delay_minutes": delay}
        assert api.post(f"/api/v1/users/{rita}/notification-rules", json=body, headers=auth).status_code == 201
    found = plan(api, user_id=rita)["plan"]
    assert [(s["contact_method_id"], s["delay_minutes"]) for s in found] == [(email["id"], 0), (hook["id"], 5), (hook["id"], 15)]


def test_send_me_a_test_page_goes_out_through_notification_service(api: TestClient, notification_service, receiver):
    app, _ = notification_service
    recv, url = receiver
    rita, auth = make_user(api, "Rita")
    hook = add_method(api, rita, auth, "apprise", "json" + url.removeprefix("http"))
    sent = api.post(f"/api/v1/users/{rita}/contact-methods/{hook['id']}/test", headers=auth)
    assert sent.status_code == 202, sent.text
    assert (sent.json()["status"], sent.json()["channel"]) == ("pending", "apprise")
    assert app.state.dispatcher.deliver_due() == 1  # the real Apprise library, to the real receiver
    [body] = recv.bodies
    assert body["message"].startswith("[TEST] Test page for Rita: this apprise contact method reaches you")
    _, bob_auth = make_user(api, "Bob")
    assert api.post(f"/api/v1/users/{rita}/contact-methods/{hook['id']}/test", headers=bob_auth).status_code == 403


def test_without_notification_service_a_contact_method_is_refused_with_503(oncall_settings, clean_db):
    settings = oncall_settings(anonymous_role="none", bootstrap_admin_token=ADMIN_TOKEN, auth_cache_seconds=0)  # peers unreachable
    with TestClient(create_app(settings)) as client:
        rita, auth = make_user(client, "Rita")
        response = client.post(f"/api/v1/users/{rita}/contact-methods", json={"type": "email", "address": "r@example.org"}, headers=auth)
        assert response.status_code == 503
        assert client.get(f"/api/v1/users/{rita}/contact-methods", headers=auth).json() == []
