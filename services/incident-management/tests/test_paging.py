"""Assigning and paging the on-call, against stand-in peers over real HTTP."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.support.apps import incident_app
from tests.support.peers import PeerStandIn
from tests.support.servers import serve_in_thread

PRIMARY = {"primary": {"name": "alice", "email": "alice@example.com"}, "secondary": {"name": "bob", "email": "bob@example.com"}}


@pytest.fixture
def peers() -> Iterator[tuple[PeerStandIn, str]]:
    stand_in = PeerStandIn(oncall={"payments": PRIMARY})
    with serve_in_thread(stand_in.app()) as url:
        yield stand_in, url


@pytest.fixture
def paging_client(database_url, clean_db, peers) -> Iterator[TestClient]:
    _, url = peers
    app = incident_app(
        database_url, oncall_service_url=url, notification_service_url=url, page_channels=["mock", "webhook"], page_max_backoff_seconds=0
    )
    with TestClient(app) as client:
        yield client


def deliver(client: TestClient) -> None:
    client.app.state.pagers.workers[0].run_once()


def test_new_incident_is_assigned_to_the_primary_and_paged_on_every_channel(paging_client, peers):
    stand_in, _ = peers
    incident = paging_client.post(
        "/api/v1/incidents", json={"title": "Card payments failing", "service": "payments", "severity": "critical"}
    ).json()
    assert incident["assigned_to"] == "alice"
    deliver(paging_client)
    assert [(n["channel"], n["recipient"]) for n in stand_in.notifications] == [
        ("mock", "alice@example.com"),
        ("webhook", "alice@example.com"),
    ]
    assert all(n["incident_id"] == incident["id"] and "Card payments failing" in n["message"] for n in stand_in.notifications)
    assert len({n["idempotency_key"] for n in stand_in.notifications}) == 2
    kinds = [e["kind"] for e in paging_client.get(f"/api/v1/incidents/{incident['id']}/timeline").json()]
    assert kinds == ["created", "assigned", "paged"]
    deliver(paging_client)
    assert len(stand_in.notifications) == 2, "a delivered page is never sent again"


def test_a_team_without_schedule_is_not_paged_and_the_timeline_says_so(paging_client, peers):
    stand_in, _ = peers
    incident = paging_client.post("/api/v1/incidents", json={"title": "t", "service": "no-such-team", "severity": "low"}).json()
    deliver(paging_client)
    assert incident["assigned_to"] is None and stand_in.notifications == []
    assert paging_client.get(f"/api/v1/incidents/{incident['id']}/timeline").json()[-1]["kind"] == "page_skipped"


def test_pages_wait_while_peers_are_down_then_go_out(paging_client, peers):
    stand_in, _ = peers
    stand_in.fail_with = 503
    incident = paging_client.post("/api/v1/incidents", json={"title": "t", "service": "payments", "severity": "high"}).json()
    assert incident["status"] == "open" and incident["assigned_to"] is None
    deliver(paging_client)
    timeline = paging_client.get(f"/api/v1/incidents/{incident['id']}/timeline").json()
    assert timeline[-1]["kind"] == "page_pending"
    stand_in.fail_with = None
    deliver(paging_client)
    detail = paging_client.get(f"/api/v1/incidents/{incident['id']}").json()
    assert detail["assigned_to"] == "alice"
    assert [e["kind"] for e in detail["timeline"]][-2:] == ["assigned", "paged"]
    assert [n["recipient"] for n in stand_in.notifications] == ["alice@example.com", "alice@example.com"]


def test_a_refused_page_is_marked_failed_not_retried(paging_client, peers):
    stand_in, _ = peers
    incident = paging_client.post("/api/v1/incidents", json={"title": "t", "service": "payments", "severity": "high"}).json()
    stand_in.fail_with = 422
    deliver(paging_client)
    stand_in.fail_with = None
    deliver(paging_client)
    assert stand_in.notifications == []
    assert paging_client.get(f"/api/v1/incidents/{incident['id']}/timeline").json()[-1]["kind"] == "page_failed"


def test_a_replica_sends_pages_with_the_configured_number_of_pager_workers(database_url, clean_db):
    with TestClient(incident_app(database_url, pager_workers=3)) as client:
        assert [worker.name for worker in client.app.state.workers] == ["pager-0", "pager-1", "pager-2", "incident-counts"]
