"""The notification API over the real database: create, idempotent replay, validation, lists, 404."""

import threading
import uuid

import pytest
from sqlalchemy import func, select

from notification.tables import notifications

INCIDENT = "6f1c1c8e-6a57-4a55-9d7e-0c2f1b0e9a11"


def _stored(clean_db) -> int:
    with clean_db.connect() as connection:
        return connection.execute(select(func.count()).select_from(notifications)).scalar_one()


def test_notify_stores_a_pending_notification_and_answers_201(client, clock, notify):
    body = notify(client, channel="mock", recipient="alice", message="disk full")
    assert body["status"] == "pending"
    assert body["attempts"] == 0
    assert body["last_error"] is None
    assert body["sent_at"] is None
    assert body["incident_id"] == INCIDENT
    assert (body["channel"], body["recipient"], body["message"]) == ("mock", "alice", "disk full")
    assert body["created_at"] == body["next_attempt_at"] == clock.now.isoformat().replace("+00:00", "Z")
    uuid.UUID(body["id"])


def test_mock_notification_is_sent_and_counted(client, notify, deliver, metric):
    before = metric("oncall_notifications_sent_total", channel="mock")
    created = notify(client, channel="mock")
    assert deliver(client) == 1
    detail = client.get(f"/api/v1/notifications/{created['id']}").json()
    assert detail["status"] == "sent"
    assert detail["attempts"] == 1
    assert detail["next_attempt_at"] is None
    assert [(a["attempt"], a["outcome"], a["error"]) for a in detail["delivery_attempts"]] == [(1, "sent", None)]
    assert detail["delivery_attempts"][0]["duration_seconds"] >= 0
    assert metric("oncall_notifications_sent_total", channel="mock") == before + 1
    assert deliver(client) == 0  # nothing left to do


def test_idempotent_replay_returns_the_same_record_and_sends_nothing_again(receiver, make_client, notify, deliver):
    client = make_client(webhook_url=receiver.url)
    first = notify(client, key="page:1:webhook", channel="webhook", recipient="alice")
    deliver(client)
    replay = client.post(
        "/api/v1/notify",
        headers={"Idempotency-Key": "page:1:webhook"},
        json={"incident_id": INCIDENT, "channel": "webhook", "recipient": "alice", "message": "text changed meanwhile"},
    )
    assert replay.status_code == 200
    assert replay.json()["id"] == first["id"]
    assert replay.json()["status"] == "sent"
    assert deliver(client) == 0
    assert len(receiver.requests) == 1
    assert client.get("/api/v1/notifications").headers["X-Total-Count"] == "1"


def test_idempotency_key_reused_for_another_recipient_is_a_conflict(client, notify):
    notify(client, key="k1", recipient="alice")
    response = client.post(
        "/api/v1/notify",
        headers={"Idempotency-Key": "k1"},
        json={"incident_id": INCIDENT, "channel": "mock", "recipient": "bob", "message": "m"},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "sms"}, "channel"),
        ({"channel": "email", "recipient": "not-an-address"}, "recipient"),
        ({"channel": "webhook", "recipient": "http://"}, "recipient"),
        ({"recipient": ""}, "recipient"),
        ({"message": "  "}, "message"),
        ({"incident_id": "not-a-uuid"}, "incident_id"),
        ({"incident_id": None}, "incident_id"),
    ],
)
def test_invalid_requests_are_422_with_field_details_and_store_nothing(client, clean_db, body, field):
    payload = {"incident_id": INCIDENT, "channel": "mock", "recipient": "alice", "message": "m", **body}
    response = client.post("/api/v1/notify", json=payload)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in [d["field"] for d in error["details"]]
    assert _stored(clean_db) == 0


def test_webhook_to_a_name_without_webhook_url_is_422(client, clean_db):
    response = client.post("/api/v1/notify", json={"incident_id": INCIDENT, "channel": "webhook", "recipient": "alice", "message": "m"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "recipient"
    assert "WEBHOOK_URL" in response.json()["error"]["details"][0]["message"]
    assert _stored(clean_db) == 0


def test_missing_body_fields_are_each_reported(client):
    response = client.post("/api/v1/notify", json={})
    assert response.status_code == 422
    assert {d["field"] for d in response.json()["error"]["details"]} == {"incident_id", "channel", "recipient", "message"}


def test_unknown_notification_is_404_and_malformed_id_422(client):
    response = client.get(f"/api/v1/notifications/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/notifications/nope").status_code == 422


def test_list_filters_paginates_and_orders_newest_first(client, clock, notify, deliver):
    other = str(uuid.uuid4())
    ids = []
    for i in range(3):
        ids.append(notify(client, message=f"m{i}")["id"])
        clock.advance(1)
    notify(client, incident_id=other, channel="email", recipient="bob@example.com")
    clock.advance(1)
    deliver(client)  # email fails (no SMTP server): still pending, the mock ones are sent

    everything = client.get("/api/v1/notifications")
    assert everything.headers["X-Total-Count"] == "4"
    assert everything.json()[0]["incident_id"] == other

    mine = client.get("/api/v1/notifications", params={"incident_id": INCIDENT, "limit": 2})
    assert mine.headers["X-Total-Count"] == "3"
    assert [n["id"] for n in mine.json()] == [ids[2], ids[1]]
    assert [n["id"] for n in client.get("/api/v1/notifications", params={"incident_id": INCIDENT, "offset": 2}).json()] == [ids[0]]

    assert client.get("/api/v1/notifications", params={"status": "sent"}).headers["X-Total-Count"] == "3"
    pending = client.get("/api/v1/notifications", params={"status": "pending", "channel": "email"}).json()
    assert [(n["incident_id"], n["attempts"]) for n in pending] == [(other, 1)]
    assert client.get("/api/v1/notifications", params={"channel": "webhook"}).headers["X-Total-Count"] == "0"
    assert client.get("/api/v1/notifications", params={"status": "lost"}).status_code == 422


def test_health_ready_metrics_and_openapi(client):
    assert client.get("/health").json() == {"status": "ok", "service": "notification-service"}
    assert client.get("/ready").status_code == 200
    text = client.get("/metrics").text
    assert 'notifications_sent_total{channel="email",status="failed"}' in text
    assert 'oncall_notifications_sent_total{channel="webhook"}' in text
    assert "/api/v1/notify" in client.get("/openapi.json").json()["paths"]


def test_concurrent_requests_with_one_idempotency_key_store_one_notification(client, clean_db):
    barrier = threading.Barrier(8)
    codes: list[int] = []
    ids: set[str] = set()

    def post() -> None:
        barrier.wait()
        response = client.post(
            "/api/v1/notify",
            headers={"Idempotency-Key": "page:race:mock"},
            json={"incident_id": INCIDENT, "channel": "mock", "recipient": "alice", "message": "m"},
        )
        codes.append(response.status_code)
        ids.add(response.json()["id"])

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(codes) == [200] * 7 + [201]
    assert len(ids) == 1
    assert _stored(clean_db) == 1
