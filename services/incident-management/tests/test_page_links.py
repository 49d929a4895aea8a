"""Acknowledge / resolve from the page: the confirmation page changes nothing, the form post acts once
as the paged person (timeline and audit name them), and every refusal says why and changes nothing.
A real incident-management (and, for platform users, a real oncall-service over HTTP) on the test
database, with no anonymous access: the signed link is the only credential."""

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from platform_common.clock import utcnow
from platform_common.pagelinks import PageLinker, Who
from tests.support.apps import incident_app, unreachable_url
from tests.support.servers import serve_in_thread

SERVICE_TOKEN = "page-links-service-token-0123456789"
ADMIN_TOKEN = "page-links-admin-token-0123456789"
SERVICE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
ALICE = Who("Alice", "alice@example.org")
COMMON = {"anonymous_role": "none", "service_token": SERVICE_TOKEN, "auth_cache_seconds": 0}


@pytest.fixture
def client(database_url: str, clean_db) -> Iterator[TestClient]:
    with TestClient(incident_app(database_url, **COMMON)) as test_client:
        yield test_client


def open_incident(client: TestClient, title: str = "Checkout 5xx") -> str:
    body = {"title": title, "service": "checkout", "severity": "critical", "assigned_to": "Alice"}
    response = client.post("/api/v1/incidents", json=body, headers=SERVICE)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def links(client: TestClient, incident_id: str, who: Who = ALICE) -> dict[str, str]:
    """The links a page to `who` carries, as paths on this app."""
    linker: PageLinker = client.app.state.page_links
    return {action: url.removeprefix(linker.public_url) for action, url in linker.links(uuid.UUID(incident_id), who).items()}


def state(client: TestClient, incident_id: str) -> tuple[str, list[tuple[str, str]]]:
    detail = client.get(f"/api/v1/incidents/{incident_id}", headers=SERVICE).json()
    return detail["status"], [(event["kind"], event["actor"]) for event in detail["timeline"]]


def audit(client: TestClient) -> list[dict]:
    client.app.state.audit.flush()
    with client.app.state.engine.connect() as connection:
        query = "SELECT actor, actor_kind, method, status FROM incident_management.audit_log WHERE path LIKE :path ORDER BY id"
        rows = connection.execute(text(query), {"path": "/api/v1/page-actions/%"})
        return [dict(row) for row in rows.mappings()]


def test_opening_the_link_shows_a_confirmation_and_changes_nothing_however_often(client: TestClient):
    incident_id = open_incident(client)
    before = state(client, incident_id)
    acknowledge = links(client, incident_id)["acknowledge"]
    for _ in range(25):  # link previews, mail scanners, a person reloading
        page = client.get(acknowledge)
        assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<form method="post">' in page.text and "Acknowledge as Alice" in page.text and "Checkout 5xx" in page.text
    assert "<script" not in page.text and "style=" not in page.text
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
    assert "form-action 'self'" in page.headers["content-security-policy"]
    assert state(client, incident_id) == before
    assert audit(client) == []


def test_confirming_acknowledges_once_as_the_paged_person_and_the_audit_log_names_them(client: TestClient):
    incident_id = open_incident(client)
    acknowledge = links(client, incident_id)["acknowledge"]
    done = client.post(acknowledge, data={})
    assert done.status_code == 200, done.text
    assert "is now acknowledged by Alice" in done.text
    status, timeline = state(client, incident_id)
    assert status == "acknowledged" and timeline[-1] == ("acknowledged", "Alice")
    assert client.get(f"/api/v1/incidents/{incident_id}/metrics", headers=SERVICE).json()["mtta_seconds"] is not None

    again = client.post(acknowledge)
    assert again.status_code == 410 and "already used" in again.text and "Alice used it" in again.text
    assert client.get(acknowledge).status_code == 410
    assert state(client, incident_id) == (status, timeline)
    assert audit(client) == [
        {"actor": "Alice", "actor_kind": "user", "method": "POST", "status": 200},
        {"actor": "Alice", "actor_kind": "user", "method": "POST", "status": 410},
    ]


def test_the_resolve_link_resolves_and_links_of_a_resolved_incident_say_so(client: TestClient):
    incident_id = open_incident(client)
    page_links = links(client, incident_id)
    assert client.post(page_links["resolve"]).status_code == 200
    status, timeline = state(client, incident_id)
    assert status == "resolved" and timeline[-1] == ("resolved", "Alice")
    late = client.post(page_links["acknowledge"])
    assert late.status_code == 409 and "Already resolved" in late.text
    assert state(client, incident_id) == (status, timeline)


def test_an_acknowledge_link_of_an_incident_someone_else_acknowledged_changes_nothing(client: TestClient):
    incident_id = open_incident(client)
    acknowledge = links(client, incident_id)["acknowledge"]
    assert (
        client.patch(f"/api/v1/incidents/{incident_id}", json={"status": "acknowledged", "author": "Bob"}, headers=SERVICE).status_code
        == 200
    )
    before = state(client, incident_id)
    refused = client.post(acknowledge)
    assert refused.status_code == 409 and "Already acknowledged" in refused.text
    assert state(client, incident_id) == before


def test_expired_changed_foreign_and_garbage_links_change_nothing_and_say_why(client: TestClient):
    incident_id = open_incident(client)
    before = state(client, incident_id)
    linker: PageLinker = client.app.state.page_links
    old = PageLinker(linker.secret, 60, linker.public_url, clock=lambda: utcnow() - timedelta(minutes=2))
    expired = old.links(uuid.UUID(incident_id), ALICE)["acknowledge"].removeprefix(linker.public_url)
    acknowledge = links(client, incident_id)["acknowledge"]
    payload, signature = acknowledge.rsplit("/", 1)[1].split(".")
    changed = f"/api/v1/page-actions/{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    foreign = PageLinker("another-platform-secret-0123456789", 3600, "").links(uuid.UUID(incident_id), ALICE)["acknowledge"]
    unknown = links(client, str(uuid.uuid4()))["acknowledge"]
    cases = {
        expired: (410, "This link has expired"),
        changed: (403, "This link is not valid"),
        foreign: (403, "This link is not valid"),
        "/api/v1/page-actions/not-a-link": (400, "Not a page link"),
        unknown: (404, "Incident not found"),
    }
    for path, (code, title) in cases.items():
        for method in ("GET", "POST"):
            answer = client.request(method, path)
            assert (answer.status_code, title in answer.text) == (code, True), (method, path, answer.text)
            assert "Nothing was changed" in answer.text
    assert state(client, incident_id) == before
    with client.app.state.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM incident_management.used_page_links")).scalar() == 0


def test_concurrent_uses_of_one_link_act_once(client: TestClient):
    incident_id = open_incident(client)
    acknowledge = links(client, incident_id)["acknowledge"]
    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(lambda _: client.post(acknowledge).status_code, range(4)))
    assert codes == [200, 410, 410, 410]
    assert [kind for kind, _ in state(client, incident_id)[1]].count("acknowledged") == 1


@pytest.fixture
def with_users(database_url: str, clean_db) -> Iterator[tuple[TestClient, httpx.Client]]:
    """incident-management asking a real oncall-service (over HTTP) who a platform user is."""
    from oncall.config import Settings as OnCallSettings
    from oncall.main import create_app as oncall_app

    settings = OnCallSettings(
        database_url=database_url,
        environment="test",
        background_workers=False,
        http_retries=0,
        bootstrap_admin_token=ADMIN_TOKEN,
        incident_management_url=unreachable_url(),
        notification_service_url=unreachable_url(),
        **COMMON,
    )
    with serve_in_thread(oncall_app(settings)) as oncall_url, httpx.Client(base_url=oncall_url) as oncall:
        with TestClient(incident_app(database_url, oncall_service_url=oncall_url, **COMMON)) as incidents:
            yield incidents, oncall


def create_user(oncall: httpx.Client, name: str, role: str) -> str:
    body = {"name": name, "email": f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.org", "role": role}
    response = oncall.post("/api/v1/users", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_platform_user_acts_under_their_current_name_and_a_removed_or_viewer_user_cannot(with_users):
    incidents, oncall = with_users
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    rita = create_user(oncall, "Rita", "responder")
    assert oncall.patch(f"/api/v1/users/{rita}", json={"name": "Rita Levi"}, headers=admin).status_code == 200
    incident_id = open_incident(incidents)
    page_links = links(incidents, incident_id, Who("Rita", user_id=rita))
    assert "Acknowledge as Rita Levi" in incidents.get(page_links["acknowledge"]).text
    assert incidents.post(page_links["acknowledge"]).status_code == 200
    assert state(incidents, incident_id)[1][-1] == ("acknowledged", "Rita Levi")
    assert audit(incidents)[-1] == {"actor": "Rita Levi", "actor_kind": "user", "method": "POST", "status": 200}

    vic = create_user(oncall, "Vic", "viewer")
    second = open_incident(incidents, "Disk full")
    refused = incidents.post(links(incidents, second, Who("Vic", user_id=vic))["acknowledge"])
    assert refused.status_code == 403 and "is a viewer" in refused.text
    resolve = links(incidents, second, Who("Rita", user_id=rita))["resolve"]
    assert oncall.delete(f"/api/v1/users/{rita}", headers=admin).status_code == 204
    gone = incidents.post(resolve)
    assert gone.status_code == 403 and "no longer a user" in gone.text
    assert state(incidents, second)[0] == "open"


def test_while_oncall_service_is_down_a_user_link_waits_and_stays_usable(client: TestClient):
    incident_id = open_incident(client)
    acknowledge = links(client, incident_id, Who("Rita", user_id=str(uuid.uuid4())))["acknowledge"]
    for method in ("GET", "POST"):
        answer = client.request(method, acknowledge)
        assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert state(client, incident_id)[0] == "open"
