"""Delivery stories over real parts: a real HTTP receiver, a real SMTP server, real PostgreSQL, and a
clock moved by hand (the delivery worker is driven one cycle at a time; nothing sleeps for backoff)."""

import logging
import threading
import time
import uuid

from fastapi.testclient import TestClient

from tests.support.apps import incident_management
from tests.support.servers import free_port

INCIDENT = "6f1c1c8e-6a57-4a55-9d7e-0c2f1b0e9a11"


def _detail(client: TestClient, notification_id: str) -> dict:
    response = client.get(f"/api/v1/notifications/{notification_id}")
    assert response.status_code == 200
    return response.json()


def test_webhook_is_posted_to_the_recipient_url_as_slack_json(client, receiver, notify, deliver, metric):
    before = metric("oncall_notifications_sent_total", channel="webhook")
    created = notify(client, channel="webhook", recipient=receiver.url, message="[HIGH] checkout 5xx")
    assert deliver(client) == 1
    [request] = receiver.requests
    assert request["headers"]["content-type"] == "application/json"
    assert request["json"]["text"] == "[HIGH] checkout 5xx"
    assert request["json"]["incident_id"] == INCIDENT
    assert request["json"]["notification_id"] == created["id"]
    detail = _detail(client, created["id"])
    assert (detail["status"], detail["attempts"], detail["sent_at"] is not None) == ("sent", 1, True)
    assert metric("oncall_notifications_sent_total", channel="webhook") == before + 1


def test_webhook_to_a_named_recipient_goes_to_the_configured_url(make_client, receiver, notify, deliver):
    client = make_client(webhook_url=receiver.url)
    notify(client, channel="webhook", recipient="Alice Smith", message="[CRITICAL] db down")
    deliver(client)
    assert receiver.delivered == [
        {
            "text": "[CRITICAL] db down (on-call: Alice Smith)",
            "incident_id": INCIDENT,
            "recipient": "Alice Smith",
            "message": "[CRITICAL] db down",
            "notification_id": receiver.delivered[0]["notification_id"],
        }
    ]


def test_email_is_delivered_over_smtp(make_client, inbox, notify, deliver, metric):
    client = make_client(smtp_port=inbox.port, smtp_from="oncall@platform.test")
    before = metric("notifications_sent_total", channel="email", status="sent")
    created = notify(client, channel="email", recipient="alice@example.com", message="[HIGH] checkout 5xx\nrunbook: wiki/checkout")
    assert deliver(client) == 1
    [message] = inbox.messages
    assert inbox.envelopes == [("oncall@platform.test", ["alice@example.com"])]
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == f"[Incident {INCIDENT}] [HIGH] checkout 5xx"
    body = message.get_content().replace("\r\n", "\n")
    assert "[HIGH] checkout 5xx\nrunbook: wiki/checkout" in body
    assert created["id"] in body
    assert _detail(client, created["id"])["status"] == "sent"
    assert metric("notifications_sent_total", channel="email", status="sent") == before + 1


def test_email_logs_in_with_smtp_credentials_and_never_logs_the_password(make_client, inbox, notify, deliver, caplog):
    caplog.set_level(logging.DEBUG)
    good = make_client(smtp_port=inbox.port, smtp_username="notifier", smtp_password="s3cret-smtp-pass")
    bad = make_client(smtp_port=inbox.port, smtp_username="notifier", smtp_password="wrong-pass-xyz")
    refused = notify(bad, channel="email", recipient="bob@example.com")
    deliver(bad)  # (both apps share the database: each delivers what is due when it runs)
    accepted = notify(good, channel="email", recipient="alice@example.com")
    deliver(good)
    assert [m["To"] for m in inbox.messages] == ["alice@example.com"]
    assert _detail(good, accepted["id"])["status"] == "sent"
    failed = _detail(bad, refused["id"])
    assert failed["status"] == "failed"  # 535 authentication failed: retrying cannot help
    assert "535" in failed["last_error"]
    assert "s3cret-smtp-pass" not in caplog.text and "wrong-pass-xyz" not in caplog.text
    assert "wrong-pass-xyz" not in failed["last_error"]


def test_receiver_down_then_up_attempts_recorded_then_sent(make_client, clock, start_receiver, notify, deliver, metric):
    port = free_port()
    client = make_client(delivery_retry_base_seconds=10, delivery_retry_max_seconds=60)
    retries_before = metric("notifications_sent_total", channel="webhook", status="retry")
    created = notify(client, channel="webhook", recipient=f"http://127.0.0.1:{port}/hook")

    assert deliver(client) == 1  # receiver down: connection refused
    first = _detail(client, created["id"])
    assert (first["status"], first["attempts"]) == ("pending", 1)
    assert "ConnectError" in first["last_error"]
    assert deliver(client) == 0  # not due before the backoff has passed
    clock.advance(9)
    assert deliver(client) == 0
    clock.advance(1)
    assert deliver(client) == 1  # second failure; the next wait doubles to 20 s
    clock.advance(19)
    assert deliver(client) == 0
    assert metric("notifications_sent_total", channel="webhook", status="retry") == retries_before + 2

    with start_receiver(port) as receiver:
        clock.advance(1)
        assert deliver(client) == 1
        assert [r["json"]["notification_id"] for r in receiver.requests] == [created["id"]]

    detail = _detail(client, created["id"])
    assert (detail["status"], detail["attempts"], detail["last_error"], detail["next_attempt_at"]) == ("sent", 3, None, None)
    assert [(a["attempt"], a["outcome"]) for a in detail["delivery_attempts"]] == [(1, "failed"), (2, "failed"), (3, "sent")]
    assert all("ConnectError" in a["error"] for a in detail["delivery_attempts"][:2])
    times = [a["attempted_at"] for a in detail["delivery_attempts"]]
    assert times == sorted(times)
    assert client.get("/api/v1/notifications", params={"status": "sent", "incident_id": INCIDENT}).json()[0]["id"] == created["id"]


def test_a_notification_for_an_unknown_incident_fails_after_max_attempts_and_is_counted(
    make_client, database_url, clock, receiver, notify, deliver, metric
):
    receiver.status = 500
    with incident_management(database_url) as incidents_url:  # up, and it does not know INCIDENT
        client = make_client(
            delivery_max_attempts=3, delivery_retry_base_seconds=5, delivery_retry_max_seconds=8, incident_management_url=incidents_url
        )
        failed_before = metric("notifications_sent_total", channel="webhook", status="failed")
        sent_before = metric("oncall_notifications_sent_total", channel="webhook")
        created = notify(client, channel="webhook", recipient=receiver.url)
        for wait in (0, 5, 8):  # backoff 5 s, then 10 s capped at 8 s
            clock.advance(wait)
            assert deliver(client) == 1
        clock.advance(3600)
        assert deliver(client) == 0  # given up: no fourth attempt
    assert len(receiver.requests) == 3
    detail = _detail(client, created["id"])
    assert (detail["status"], detail["attempts"], detail["next_attempt_at"], detail["failing_since"]) == ("failed", 3, None, None)
    assert detail["last_error"] == "HTTP 500"
    assert metric("notifications_sent_total", channel="webhook", status="failed") == failed_before + 1
    assert metric("oncall_notifications_sent_total", channel="webhook") == sent_before
    assert client.get("/api/v1/notifications", params={"status": "failed"}).headers["X-Total-Count"] == "1"


def test_receiver_refusing_with_4xx_fails_at_once_but_429_is_retried(client, receiver, notify, deliver):
    receiver.status = 404
    gone = notify(client, channel="webhook", recipient=receiver.url)
    deliver(client)
    assert _detail(client, gone["id"])["status"] == "failed"
    receiver.status = 429
    throttled = notify(client, channel="webhook", recipient=receiver.url)
    deliver(client)
    assert _detail(client, throttled["id"])["status"] == "pending"


def test_every_attempt_at_a_notification_carries_its_id_as_idempotency_key(client, clock, receiver, notify, deliver):
    """A receiver that honours the key shows the page once, even when it is sent again (at least once)."""
    receiver.status = 503
    created = notify(client, channel="webhook", recipient=receiver.url)
    deliver(client)
    receiver.status = 200
    clock.advance(10)
    deliver(client)
    assert [(r["status"], r["headers"]["idempotency-key"]) for r in receiver.requests] == [(503, created["id"]), (200, created["id"])]
    assert _detail(client, created["id"])["status"] == "sent"


def test_smtp_550_fails_at_once_and_smtp_down_is_retried(make_client, inbox, notify, deliver):
    inbox.refuse.add("ghost@example.com")
    client = make_client(smtp_port=inbox.port)
    ghost = notify(client, channel="email", recipient="ghost@example.com")
    deliver(client)
    detail = _detail(client, ghost["id"])
    assert (detail["status"], detail["attempts"]) == ("failed", 1)
    assert "550" in detail["last_error"]

    down = make_client()  # SMTP port where nothing listens
    waiting = notify(down, channel="email", recipient="alice@example.com")
    deliver(down)
    detail = _detail(down, waiting["id"])
    assert (detail["status"], detail["attempts"]) == ("pending", 1)
    assert "unreachable" in detail["last_error"]


def test_pending_notifications_survive_a_restart(make_client, receiver, notify, deliver):
    first = make_client(webhook_url=receiver.url)
    created = notify(first, channel="webhook", recipient="alice")
    first.__exit__(None, None, None)  # stopped before delivering anything
    second = make_client(webhook_url=receiver.url)
    assert deliver(second) == 1
    assert [r["json"]["notification_id"] for r in receiver.requests] == [created["id"]]
    assert _detail(second, created["id"])["status"] == "sent"


def _run_together(*steps) -> list[int]:
    barrier = threading.Barrier(len(steps))
    results: list[int] = [0] * len(steps)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = steps[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(steps))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_replicas_deliver_one_notification_exactly_once(make_client, receiver, notify):
    receiver.delay = 0.5  # the first replica is still sending when the second looks
    one, two = make_client(), make_client()
    created = notify(one, channel="webhook", recipient=receiver.url)
    results = _run_together(one.app.state.dispatcher.deliver_due, two.app.state.dispatcher.deliver_due)
    assert sorted(results) == [0, 1]
    assert len(receiver.requests) == 1
    detail = _detail(two, created["id"])
    assert (detail["status"], detail["attempts"], len(detail["delivery_attempts"])) == ("sent", 1, 1)


def test_two_replicas_share_a_backlog_without_duplicates(make_client, receiver, notify):
    receiver.delay = 0.02
    one, two = make_client(), make_client()
    ids = {notify(one, channel="webhook", recipient=receiver.url, message=f"page {i}")["id"] for i in range(20)}
    results = _run_together(one.app.state.dispatcher.deliver_due, two.app.state.dispatcher.deliver_due)
    delivered = [r["json"]["notification_id"] for r in receiver.requests]
    assert sorted(delivered) == sorted(ids)  # every one, each once
    assert sum(results) == 20
    assert one.get("/api/v1/notifications", params={"status": "sent", "limit": 100}).headers["X-Total-Count"] == "20"


def test_running_worker_delivers_as_soon_as_it_is_woken(make_client, receiver, notify):
    client = make_client(background_workers=True, delivery_interval_seconds=30)  # the interval alone would take 30 s
    created = notify(client, channel="webhook", recipient=receiver.url)
    deadline = time.monotonic() + 5
    while client.get(f"/api/v1/notifications/{created['id']}").json()["status"] != "sent":
        assert time.monotonic() < deadline, "the woken worker did not deliver within 5 s"
        time.sleep(0.05)  # polling for the background thread, not waiting out a backoff
    assert len(receiver.requests) == 1


def test_many_due_notifications_are_worked_in_bounded_cycles(client, notify, deliver, monkeypatch):
    monkeypatch.setattr("notification.dispatcher.MAX_DELIVERIES_PER_CYCLE", 3)
    for i in range(4):
        notify(client, message=f"m{i}")
    assert deliver(client) == 3
    assert deliver(client) == 1
    assert uuid.UUID(client.get("/api/v1/notifications").json()[0]["id"])
