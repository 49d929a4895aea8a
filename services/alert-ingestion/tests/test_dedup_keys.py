"""The generic API's dedup_key and `"status": "resolved"` over real HTTP, with the real incident-management."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.apps import ingestion_app
from tests.support.servers import serve_in_thread

ALERT = {"service": "backup", "severity": "medium", "message": "nightly backup failed", "dedup_key": "backup/nightly"}


@pytest.fixture
def ingestion(database_url, incidents_url):
    app = ingestion_app(database_url, incidents_url)
    with serve_in_thread(app) as url:
        yield app, url


def post(url: str, **changes) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/alerts", json={**ALERT, **changes})


def test_a_repeat_while_firing_updates_the_alert_and_says_so(ingestion, incidents_url):
    _, url = ingestion
    first = post(url)
    assert first.status_code == 201 and first.json()["dedup"] == "new_alert" and first.json()["dedup_key"] == "backup/nightly"
    repeat = post(url, message="still failing")
    assert repeat.status_code == 200
    assert repeat.json() == {**first.json(), "dedup": "repeat"}
    [stored] = httpx.get(f"{url}/api/v1/alerts").json()
    assert stored["repeat_count"] == 1 and stored["message"] == "nightly backup failed"
    assert httpx.get(f"{incidents_url}/api/v1/incidents").headers["x-total-count"] == "1"


def test_an_alert_without_dedup_key_answers_as_before(ingestion):
    _, url = ingestion
    answer = httpx.post(f"{url}/api/v1/alerts", json={k: v for k, v in ALERT.items() if k != "dedup_key"})
    assert answer.status_code == 201 and set(answer.json()) == {"alert_id", "incident_id", "status", "action"}


def test_resolved_by_key_resolves_the_incident_and_the_key_can_fire_again(ingestion, incidents_url):
    app, url = ingestion
    first = post(url).json()
    resolved = post(url, status="resolved")
    assert resolved.status_code == 200 and resolved.json() == {**first, "dedup": "resolved"}
    app.state.resolution_worker.run_once()
    incident = httpx.get(f"{incidents_url}/api/v1/incidents/{first['incident_id']}").json()
    assert incident["status"] == "resolved" and "alerts_resolved" in [e["kind"] for e in incident["timeline"]]
    again = post(url, status="resolved")
    assert again.status_code == 200 and again.json()["alert_id"] == first["alert_id"], "a repeated resolve changes nothing"

    refired = post(url)
    assert refired.status_code == 201 and refired.json()["alert_id"] != first["alert_id"]
    assert refired.json()["incident_id"] != first["incident_id"]


def test_bad_resolves_are_refused_and_change_nothing(ingestion):
    _, url = ingestion
    without_key = httpx.post(f"{url}/api/v1/alerts", json={**{k: v for k, v in ALERT.items() if k != "dedup_key"}, "status": "resolved"})
    assert without_key.status_code == 422
    assert {d["field"] for d in without_key.json()["error"]["details"]} == {"status"}
    unknown = post(url, dedup_key="never-sent", status="resolved")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert post(url, status="closed").status_code == 422
    assert post(url, dedup_key="").status_code == 422 and post(url, dedup_key="k" * 256).status_code == 422
    assert httpx.get(f"{url}/api/v1/alerts").json() == []


def test_concurrent_repeats_store_one_alert(ingestion, incidents_url):
    _, url = ingestion
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: post(url), range(16)))
    assert sorted(a.status_code for a in answers) == [200] * 15 + [201]
    assert len({a.json()["alert_id"] for a in answers}) == 1
    [stored] = httpx.get(f"{url}/api/v1/alerts").json()
    assert stored["repeat_count"] == 15
    assert httpx.get(f"{incidents_url}/api/v1/incidents").headers["x-total-count"] == "1"


def test_an_idempotent_retry_with_a_dedup_key_is_a_replay_not_a_repeat(ingestion):
    _, url = ingestion
    headers = {"Idempotency-Key": "cron-7"}
    first = httpx.post(f"{url}/api/v1/alerts", json=ALERT, headers=headers)
    retry = httpx.post(f"{url}/api/v1/alerts", json=ALERT, headers=headers)
    assert (first.status_code, retry.status_code) == (201, 200) and retry.json()["alert_id"] == first.json()["alert_id"]
    assert httpx.get(f"{url}/api/v1/alerts").json()[0]["repeat_count"] == 0
