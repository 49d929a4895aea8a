"""POST /v2/enqueue over real HTTP: a real oncall-service issues the integration keys, a real
incident-management opens, acknowledges and resolves the incidents, all on the test PostgreSQL."""

import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from tests.support.apps import ingestion_app, unreachable_url
from tests.support.servers import serve_in_thread


@pytest.fixture
def oncall_url(database_url, clean_db) -> Iterator[str]:
    from oncall.config import Settings
    from oncall.main import create_app

    settings = Settings(
        database_url=database_url,
        environment="test",
        background_workers=False,
        http_retries=0,
        incident_management_url=unreachable_url(),
        notification_service_url=unreachable_url(),
    )
    with serve_in_thread(create_app(settings)) as url:
        yield url


@pytest.fixture
def ingestion(database_url, incidents_url, oncall_url):
    app = ingestion_app(database_url, incidents_url, auth_cache_seconds=0)
    with serve_in_thread(app) as url:
        yield app, url


def new_integration(oncall_url: str, service: str | None = None) -> dict:
    body = {"name": f"pd-{uuid.uuid4().hex[:6]}", "kind": "pagerduty", **({"service": service} if service else {})}
    created = httpx.post(f"{oncall_url}/api/v1/integrations", json=body)
    assert created.status_code == 201, created.text
    return {**created.json(), "name": body["name"]}


def send(url: str, key: str, action: str = "trigger", **fields) -> httpx.Response:
    if action == "trigger":
        fields.setdefault("payload", {"summary": "Checkout is failing payments", "source": "web01", "severity": "critical"})
    return httpx.post(f"{url}/v2/enqueue", json={"routing_key": key, "event_action": action, **fields})


def alerts_of(url: str, **filters) -> list[dict]:
    return httpx.get(f"{url}/api/v1/alerts", params=filters).json()


def incident(incidents_url: str, incident_id: str) -> dict:
    return httpx.get(f"{incidents_url}/api/v1/incidents/{incident_id}").json()


def test_trigger_opens_an_incident_and_a_retrigger_counts_on_the_same_alert(ingestion, incidents_url, oncall_url):
    _, url = ingestion
    key = new_integration(oncall_url)["key"]
    payload = {
        "summary": "Checkout is failing payments",
        "source": "web01",
        "severity": "error",
        "component": "checkout",
        "custom_details": {"errors": 42},
    }
    first = send(url, key, dedup_key="checkout/payments", payload=payload, links=[{"href": "https://runbooks.example.org/p"}])
    assert (first.status_code, first.json()) == (202, {"status": "success", "message": "Event processed", "dedup_key": "checkout/payments"})
    [alert] = alerts_of(url, service="checkout")
    assert (alert["source"], alert["severity"], alert["dedup_key"], alert["status"]) == (
        "events_v2",
        "high",
        "checkout/payments",
        "correlated",
    )
    assert alert["labels"] == {"source": "web01", "component": "checkout"}
    assert alert["details"] == {"custom_details": {"errors": 42}, "links": [{"href": "https://runbooks.example.org/p"}]}
    opened = incident(incidents_url, alert["incident_id"])
    assert (opened["service"], opened["severity"], opened["status"]) == ("checkout", "high", "open")

    for _ in range(2):
        again = send(url, key, dedup_key="checkout/payments", payload=payload)
        assert (again.status_code, again.json()["dedup_key"]) == (202, "checkout/payments")
    [alert] = alerts_of(url, service="checkout")
    assert alert["repeat_count"] == 2 and alert["last_repeated_at"] is not None
    assert httpx.get(f"{incidents_url}/api/v1/incidents").headers["x-total-count"] == "1", "never a second incident"


def test_a_trigger_without_dedup_key_gets_one_and_the_integration_service_decides(ingestion, oncall_url):
    _, url = ingestion
    key = new_integration(oncall_url, service="payments")["key"]
    answers = [send(url, key).json()["dedup_key"] for _ in range(2)]
    assert len(set(answers)) == 2 and all(len(k) == 32 for k in answers), "each trigger without a key is its own alert"
    assert {a["dedup_key"] for a in alerts_of(url, service="payments")} == set(answers)


def test_acknowledge_names_the_integration_on_the_timeline(ingestion, incidents_url, oncall_url):
    _, url = ingestion
    integration = new_integration(oncall_url)
    send(url, integration["key"], dedup_key="db/disk")
    [alert] = alerts_of(url)
    acknowledged = send(url, integration["key"], "acknowledge", dedup_key="db/disk")
    assert (acknowledged.status_code, acknowledged.json()["dedup_key"]) == (202, "db/disk")
    found = incident(incidents_url, alert["incident_id"])
    assert found["status"] == "acknowledged" and found["mtta_seconds"] is not None
    assert any(e["kind"] == "acknowledged" and e["actor"] == integration["name"] for e in found["timeline"]), found["timeline"]
    assert send(url, integration["key"], "acknowledge", dedup_key="db/disk").status_code == 202, "again: nothing to change"
    assert send(url, integration["key"], "acknowledge", dedup_key="never-sent").status_code == 202


def test_resolve_resolves_the_alert_and_the_incident_after_its_last_firing_alert(ingestion, incidents_url, oncall_url):
    app, url = ingestion
    key = new_integration(oncall_url)["key"]
    send(url, key, dedup_key="a")
    send(url, key, dedup_key="b")
    alerts = alerts_of(url)
    assert len(alerts) == 2 and len({a["incident_id"] for a in alerts}) == 1, "same service and severity: one incident"
    incident_id = alerts[0]["incident_id"]

    assert send(url, key, "resolve", dedup_key="a").status_code == 202
    app.state.resolution_worker.run_once()
    assert incident(incidents_url, incident_id)["status"] == "open", "alert b still fires"
    assert send(url, key, "resolve", dedup_key="b").status_code == 202
    app.state.resolution_worker.run_once()
    resolved = incident(incidents_url, incident_id)
    assert resolved["status"] == "resolved" and "alerts_resolved" in [e["kind"] for e in resolved["timeline"]]
    assert all(a["resolved_at"] for a in alerts_of(url))
    assert send(url, key, "resolve", dedup_key="b").status_code == 202, "a repeated resolve changes nothing"

    reopened = send(url, key, dedup_key="a")
    assert reopened.status_code == 202
    fresh = [a for a in alerts_of(url) if a["resolved_at"] is None]
    assert len(fresh) == 1 and fresh[0]["incident_id"] != incident_id, "a resolved key fires again as a new alert"


def test_a_retrigger_after_a_person_resolved_the_incident_opens_a_new_one(ingestion, incidents_url, oncall_url):
    _, url = ingestion
    key = new_integration(oncall_url)["key"]
    send(url, key, dedup_key="k")
    [first] = alerts_of(url)
    httpx.patch(f"{incidents_url}/api/v1/incidents/{first['incident_id']}", json={"status": "resolved"}).raise_for_status()
    send(url, key, dedup_key="k")
    newest, older = alerts_of(url)
    assert older["alert_id"] == first["alert_id"] and older["resolved_at"] is not None
    assert newest["resolved_at"] is None and newest["incident_id"] not in (None, first["incident_id"])


def test_dedup_keys_belong_to_their_integration(ingestion, oncall_url):
    _, url = ingestion
    for integration in (new_integration(oncall_url), new_integration(oncall_url)):
        send(url, integration["key"], dedup_key="same")
    assert len(alerts_of(url)) == 2


KEY = object()  # the test's integration key
TRIGGER = {"routing_key": KEY, "event_action": "trigger"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"event_action": "trigger", "payload": {"summary": "s", "source": "h", "severity": "info"}}, "'routing_key' is missing"),
        ({**TRIGGER, "event_action": "fire", "payload": {"summary": "s", "source": "h", "severity": "info"}}, "'event_action' is invalid"),
        ({**TRIGGER, "payload": {"source": "h", "severity": "info"}}, "'payload.summary' is missing"),
        ({**TRIGGER, "payload": {"summary": "s", "source": "h", "severity": "high"}}, "'payload.severity' is invalid"),
        (TRIGGER, "'payload' is missing"),
        ({"routing_key": KEY, "event_action": "resolve"}, "'dedup_key' is missing"),
        ({**TRIGGER, "payload": {"summary": "s", "source": "h", "severity": "info", "custom_details": "x" * 530_000}}, "512 KB"),
    ],
)
def test_invalid_events_are_pagerduty_400s_and_store_nothing(ingestion, oncall_url, body, error):
    _, url = ingestion
    key = new_integration(oncall_url)["key"]
    answer = httpx.post(f"{url}/v2/enqueue", json={name: key if value is KEY else value for name, value in body.items()})
    assert answer.status_code == 400, answer.text
    rejected = answer.json()
    assert (rejected["status"], rejected["message"]) == ("invalid event", "Event object is invalid")
    assert any(error in message for message in rejected["errors"]), rejected
    assert alerts_of(url) == []


def test_unknown_revoked_and_non_integration_keys_are_refused(ingestion, oncall_url, clean_db):
    app, url = ingestion
    integration = new_integration(oncall_url)
    assert send(url, integration["key"], dedup_key="before").status_code == 202
    httpx.delete(f"{oncall_url}/api/v1/integrations/{integration['id']}").raise_for_status()
    for key in (integration["key"], "ipk_" + "x" * 43, "local-service-token"):
        refused = send(url, key, dedup_key="after")
        assert refused.status_code == 400 and refused.json()["errors"] == ["Invalid routing key"]
    assert [a["dedup_key"] for a in alerts_of(url)] == ["before"]
    app.state.audit.flush()
    with clean_db.connect() as connection:
        audited = connection.execute(text("SELECT actor, status FROM alert_ingestion.audit_log WHERE path = '/v2/enqueue'")).all()
    assert (integration["name"], 202) in audited


def test_a_body_that_is_not_json_is_an_unrecognized_object(ingestion):
    _, url = ingestion
    answer = httpx.post(f"{url}/v2/enqueue", content=b"{not json", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json() == {
        "status": "Unrecognized object",
        "message": "Event object format is unrecognized",
        "errors": ["JSON parse error"],
    }
