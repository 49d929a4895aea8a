"""Retries never duplicate: a timeline event reported twice with one Idempotency-Key is stored once,
and correlated opens (alert-ingestion's find-or-open) yield one incident however many callers race."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.apps import incident_management

INCIDENT = {"title": "Checkout 5xx > 10%", "service": "checkout", "severity": "high"}
EVENT = {"kind": "escalated", "actor": "oncall-service", "message": "Escalated to bob", "assigned_to": "bob"}


@pytest.fixture
def url(database_url, clean_db):
    with incident_management(database_url) as base_url:
        yield base_url


def timeline(url: str, incident_id: str) -> list[dict]:
    return httpx.get(f"{url}/api/v1/incidents/{incident_id}/timeline").json()


def test_a_replayed_timeline_event_answers_200_with_the_same_event(url):
    incident = httpx.post(f"{url}/api/v1/incidents", json=INCIDENT).json()
    key = {"Idempotency-Key": f"escalation-event:{incident['id']}:1"}
    first = httpx.post(f"{url}/api/v1/incidents/{incident['id']}/timeline", json=EVENT, headers=key)
    again = httpx.post(f"{url}/api/v1/incidents/{incident['id']}/timeline", json={**EVENT, "assigned_to": "carol"}, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    kinds = [event["kind"] for event in timeline(url, incident["id"])]
    assert kinds.count("escalated") == 1 and kinds.count("assigned") == 1
    assert httpx.get(f"{url}/api/v1/incidents/{incident['id']}").json()["assigned_to"] == "bob", "a replay changes nothing"


def test_an_idempotency_key_belongs_to_one_incident(url):
    one, two = (httpx.post(f"{url}/api/v1/incidents", json=INCIDENT).json() for _ in range(2))
    key = {"Idempotency-Key": "page-failing:42"}
    assert httpx.post(f"{url}/api/v1/incidents/{one['id']}/timeline", json=EVENT, headers=key).status_code == 201
    assert httpx.post(f"{url}/api/v1/incidents/{two['id']}/timeline", json=EVENT, headers=key).status_code == 201


def test_concurrent_replays_of_a_timeline_event_store_it_once(url):
    incident = httpx.post(f"{url}/api/v1/incidents", json=INCIDENT).json()
    key = {"Idempotency-Key": f"escalation-event:{incident['id']}:2"}
    with httpx.Client(limits=httpx.Limits(max_connections=20)) as client, ThreadPoolExecutor(20) as pool:
        post = lambda _: client.post(f"{url}/api/v1/incidents/{incident['id']}/timeline", json=EVENT, headers=key, timeout=60)  # noqa: E731
        responses = list(pool.map(post, range(20)))
    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert [event["kind"] for event in timeline(url, incident["id"])].count("escalated") == 1


def test_a_timeline_idempotency_key_that_is_too_long_is_refused_and_stores_nothing(url):
    incident = httpx.post(f"{url}/api/v1/incidents", json=INCIDENT).json()
    response = httpx.post(f"{url}/api/v1/incidents/{incident['id']}/timeline", json=EVENT, headers={"Idempotency-Key": "k" * 201})
    assert response.status_code == 422
    assert [event["kind"] for event in timeline(url, incident["id"])] == ["created"]


def test_a_correlated_open_joins_the_incident_of_its_window_and_says_so(url):
    correlated = {**INCIDENT, "correlation_window_seconds": 300}
    first = httpx.post(f"{url}/api/v1/incidents", json=correlated, headers={"Idempotency-Key": "alert:1"})
    joined = httpx.post(f"{url}/api/v1/incidents", json=correlated, headers={"Idempotency-Key": "alert:2"})
    replay = httpx.post(f"{url}/api/v1/incidents", json=correlated, headers={"Idempotency-Key": "alert:1"})
    other_severity = httpx.post(f"{url}/api/v1/incidents", json={**correlated, "severity": "low"})
    assert (first.status_code, first.headers["correlation-action"]) == (201, "new_incident")
    assert (joined.status_code, joined.headers["correlation-action"]) == (200, "attached_to_existing_incident")
    assert (replay.status_code, replay.headers["correlation-action"]) == (200, "new_incident")
    assert joined.json()["id"] == replay.json()["id"] == first.json()["id"]
    assert other_severity.status_code == 201 and other_severity.json()["id"] != first.json()["id"]
    httpx.patch(f"{url}/api/v1/incidents/{first.json()['id']}", json={"status": "resolved"})
    after = httpx.post(f"{url}/api/v1/incidents", json=correlated)
    assert after.status_code == 201 and after.json()["id"] != first.json()["id"], "a resolved incident is never joined"
    assert httpx.get(f"{url}/api/v1/incidents").headers["x-total-count"] == "3"


def test_concurrent_correlated_opens_yield_exactly_one_incident(url):
    correlated = {**INCIDENT, "correlation_window_seconds": 300}
    with httpx.Client(limits=httpx.Limits(max_connections=30)) as client, ThreadPoolExecutor(30) as pool:
        post = lambda i: client.post(f"{url}/api/v1/incidents", json=correlated, headers={"Idempotency-Key": f"alert:{i}"}, timeout=60)  # noqa: E731
        responses = list(pool.map(post, range(30)))
    assert len({r.json()["id"] for r in responses}) == 1
    assert sorted(r.headers["correlation-action"] for r in responses).count("new_incident") == 1
    assert httpx.get(f"{url}/api/v1/incidents").headers["x-total-count"] == "1"


@pytest.mark.parametrize("window", [0, -5, 86_401, "soon"])
def test_an_invalid_correlation_window_is_422_and_stores_nothing(url, window):
    response = httpx.post(f"{url}/api/v1/incidents", json={**INCIDENT, "correlation_window_seconds": window})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "correlation_window_seconds"
    assert httpx.get(f"{url}/api/v1/incidents").json() == []


def test_an_empty_idempotency_key_is_a_key_like_any_other(url):
    """Sent twice, an empty key opens one incident: the second answer is its replay (found by the fuzzer: a 500)."""
    body = {"title": "Checkout down", "service": "checkout", "severity": "high"}
    first = httpx.post(f"{url}/api/v1/incidents", json=body, headers={"Idempotency-Key": ""})
    again = httpx.post(f"{url}/api/v1/incidents", json=body, headers={"Idempotency-Key": ""})
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json()["id"] == first.json()["id"]
