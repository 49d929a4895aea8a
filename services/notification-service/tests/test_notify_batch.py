"""POST /api/v1/notify/batch over the real database and a real webhook receiver: each item exactly as
POST /notify with its Idempotency-Key, in order, all or nothing, in a constant number of statements."""

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from notification.tables import notifications
from platform_common.auth.policy import INTERNAL, route_policies
from tests.support.statements import statements

INCIDENT = "6f1c1c8e-6a57-4a55-9d7e-0c2f1b0e9a11"
BATCH = "/api/v1/notify/batch"
SERVICE_TOKEN = "batch-test-service-token-0123456789"


def _item(key: str, **fields: Any) -> dict[str, Any]:
    return {"incident_id": INCIDENT, "channel": "mock", "recipient": "alice", "message": f"page {key}", "idempotency_key": key, **fields}


def _stored(clean_db) -> int:
    with clean_db.connect() as connection:
        return connection.execute(select(func.count()).select_from(notifications)).scalar_one()


def _batch(client, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = client.post(BATCH, json={"notifications": items})
    assert response.status_code == 200, response.text
    return response.json()


def _error(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["error"]


def test_a_batch_of_webhooks_is_delivered_each_once_and_a_replay_sends_nothing(receiver, client, deliver, clean_db):
    items = [_item(f"page:{n}", channel="webhook", recipient=receiver.url) for n in range(3)]
    first = _batch(client, items)
    assert [(r["created"], r["notification"]["message"], r["notification"]["status"]) for r in first] == [
        (True, f"page page:{n}", "pending") for n in range(3)
    ]
    ids = [r["notification"]["id"] for r in first]
    assert len(set(ids)) == 3

    assert deliver(client) == 3
    assert sorted((r["headers"]["idempotency-key"], r["json"]["message"]) for r in receiver.requests) == sorted(
        (ids[n], f"page page:{n}") for n in range(3)
    )

    replay = _batch(client, items)
    assert [(r["created"], r["notification"]["id"], r["notification"]["status"]) for r in replay] == [(False, id_, "sent") for id_ in ids]
    assert deliver(client) == 0
    assert len(receiver.requests) == 3
    assert _stored(clean_db) == 3


def test_a_key_twice_in_one_batch_is_a_replay_of_the_first(client, clean_db):
    results = _batch(client, [_item("a"), _item("b"), _item("a", message="the text changed meanwhile")])
    assert [r["created"] for r in results] == [True, True, False]
    assert results[2]["notification"] == results[0]["notification"]
    assert results[2]["notification"]["message"] == "page a"
    assert _stored(clean_db) == 2


def test_a_key_used_by_post_notify_is_replayed_by_a_batch_and_the_rest_is_created(client, notify, clean_db):
    single = notify(client, key="page:7", message="page page:7")
    results = _batch(client, [_item("page:6"), _item("page:7")])
    assert [r["created"] for r in results] == [True, False]
    assert results[1]["notification"]["id"] == single["id"]
    assert _stored(clean_db) == 2


def test_each_item_keeps_its_delay_and_order(client, clock):
    later = clock.now + timedelta(minutes=5)
    results = _batch(client, [_item("now"), _item("later", not_before=later.isoformat())])
    assert [r["notification"]["next_attempt_at"] for r in results] == [
        clock.now.isoformat().replace("+00:00", "Z"),
        later.isoformat().replace("+00:00", "Z"),
    ]


@pytest.mark.parametrize(
    ("invalid", "field"),
    [
        ({"channel": "sms"}, "notifications.1.channel"),
        ({"channel": "email", "recipient": "not-an-address"}, "notifications.1.recipient"),
        ({"idempotency_key": ""}, "notifications.1.idempotency_key"),
        ({"idempotency_key": "k" * 201}, "notifications.1.idempotency_key"),
        ({"channel": "webhook", "recipient": "http://10.1.2.3/hook"}, "notifications.1.recipient"),
        ({"channel": "webhook", "recipient": "alice"}, "notifications.1.recipient"),  # no WEBHOOK_URL
        ({"fallbacks": [{"channel": "webhook", "recipient": "http://10.1.2.3/hook"}]}, "notifications.1.fallbacks.0.recipient"),
    ],
)
def test_one_invalid_item_is_a_422_naming_it_and_nothing_is_stored(client, clean_db, invalid, field):
    error = _error(client.post(BATCH, json={"notifications": [_item("ok-0"), _item("bad", **invalid), _item("ok-2")]}), 422)
    assert error["code"] == "validation_error"
    assert field in [detail["field"] for detail in error["details"]]
    assert _stored(clean_db) == 0


def test_a_refused_recipient_names_the_item_in_the_message(client, clean_db):
    error = _error(client.post(BATCH, json={"notifications": [_item("ok"), _item("bad", channel="webhook", recipient="alice")]}), 422)
    assert error["message"] == "notifications.1: Request validation failed"
    assert "WEBHOOK_URL" in error["details"][0]["message"]
    assert _stored(clean_db) == 0


@pytest.mark.parametrize("count", [0, 101])
def test_an_empty_or_oversized_batch_is_a_422(client, clean_db, count):
    error = _error(client.post(BATCH, json={"notifications": [_item(f"k{n}") for n in range(count)]}), 422)
    assert [detail["field"] for detail in error["details"]] == ["notifications"]
    assert _error(client.post(BATCH, json={}), 422)["details"][0]["field"] == "notifications"
    assert _stored(clean_db) == 0


def test_a_key_reused_for_another_recipient_is_a_409_naming_the_item_and_nothing_is_stored(client, notify, clean_db):
    notify(client, key="held", recipient="alice")
    error = _error(client.post(BATCH, json={"notifications": [_item("fresh"), _item("held", recipient="bob")]}), 409)
    assert (error["code"], error["message"]) == (
        "conflict",
        "notifications.1: Idempotency-Key already used for a different incident, channel or recipient",
    )
    inside = client.post(BATCH, json={"notifications": [_item("twice"), _item("twice", channel="email", recipient="bob@example.com")]})
    assert _error(inside, 409)["message"].startswith("notifications.1: ")
    assert _stored(clean_db) == 1


def test_the_statements_are_as_many_for_20_items_as_for_2(client):
    with statements(client.app.state.engine) as two:
        _batch(client, [_item(f"two-{n}") for n in range(2)])
    with statements(client.app.state.engine) as twenty:
        _batch(client, [_item(f"twenty-{n}") for n in range(20)])
    with statements(client.app.state.engine) as replayed:
        _batch(client, [_item(f"twenty-{n}") for n in range(20)])
    assert len(two) == len(twenty) == 2  # one SELECT of the keys, one INSERT
    assert len(replayed) == 1


def test_concurrent_batches_sharing_keys_in_any_order_store_each_key_once(client, clean_db):
    keys = [f"shared-{n}" for n in range(10)]
    orders = [keys, keys[::-1], keys[3:] + keys[:3], keys[::-1]]
    barrier = threading.Barrier(len(orders))
    answers: list[list[dict[str, Any]]] = []

    def post(order: list[str]) -> None:
        barrier.wait()
        answers.append(client.post(BATCH, json={"notifications": [_item(key) for key in order]}).json())

    threads = [threading.Thread(target=post, args=(order,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(isinstance(answer, list) for answer in answers), answers
    assert len(answers) == len(orders)
    by_message: dict[str, set[str]] = {}
    for answer in answers:
        for result in answer:
            by_message.setdefault(result["notification"]["message"], set()).add(result["notification"]["id"])
    assert {message: len(found) for message, found in by_message.items()} == {f"page {key}": 1 for key in keys}
    assert sum(r["created"] for answer in answers for r in answer) == len(keys)
    assert _stored(clean_db) == len(keys)


def test_the_batch_route_is_internal_only(make_client):
    client = make_client(anonymous_role="none", service_token=SERVICE_TOKEN)
    assert route_policies(client.app)[("POST", BATCH)] is INTERNAL
    body = {"notifications": [_item("auth")]}
    assert _error(client.post(BATCH, json=body), 401)["code"] == "unauthenticated"
    answer = client.post(BATCH, json=body, headers={"Authorization": f"Bearer {SERVICE_TOKEN}"})
    assert answer.status_code == 200, answer.text
