"""A page is never silently lost (SPEC §13): past its first retry budget a page of an open incident is
still retried, reported on the incident's timeline and counted by `notifications_failing`; it stops
when the incident is acknowledged (`cancelled`) or after DELIVERY_GIVE_UP_SECONDS (`failed`, reported);
its fallbacks reach the person on other channels meanwhile.

Real parts: incident-management on the test database over HTTP, a real webhook receiver, a real SMTP
server; the clock is moved by hand and the workers are driven one cycle at a time.
"""

from fastapi.testclient import TestClient

from tests.support.servers import free_port

BUDGET = {"delivery_max_attempts": 3, "delivery_retry_base_seconds": 5, "delivery_retry_max_seconds": 60}


def _detail(client: TestClient, notification_id: str) -> dict:
    response = client.get(f"/api/v1/notifications/{notification_id}")
    assert response.status_code == 200
    return response.json()


def _report(client: TestClient) -> int:
    return client.app.state.reporter.report_due()


def _spend_the_budget(client: TestClient, clock, deliver) -> None:
    for wait in (0, 5, 10):  # three failed attempts: the first budget
        clock.advance(wait)
        assert deliver(client) == 1


def _failing_gauge(client: TestClient, channel: str) -> float:
    line = f'notifications_failing{{channel="{channel}"}} '
    [value] = [row.removeprefix(line) for row in client.get("/metrics").text.splitlines() if row.startswith(line)]
    return float(value)


def test_a_page_of_an_open_incident_outlives_its_budget_is_reported_once_and_then_delivered(
    make_client, incidents, receiver, clock, notify, deliver
):
    incident = incidents.open()
    receiver.status = 503
    client = make_client(incident_management_url=incidents.url, **BUDGET)
    page = notify(client, incident_id=incident, channel="webhook", recipient=receiver.url, key=f"page:{incident}:webhook")
    assert _failing_gauge(client, "webhook") == 0

    _spend_the_budget(client, clock, deliver)
    detail = _detail(client, page["id"])
    assert (detail["status"], detail["attempts"]) == ("pending", 3), "the page is not abandoned after its attempts"
    assert detail["failing_since"] is not None
    assert _failing_gauge(client, "webhook") == 1

    assert _report(client) == 1
    [event] = incidents.events(incident, "page_failing")
    assert event["actor"] == "notification-service"
    assert event["data"]["notification_id"] == page["id"]
    assert "3 attempts" in event["message"] and "HTTP 503" in event["message"]
    assert receiver.url not in event["message"], "a webhook URL (its path may hold a secret) is not shown on the timeline"

    for _ in range(3):  # at the capped backoff, for as long as it takes; reported only once
        clock.advance(60)
        assert deliver(client) == 1
    assert _report(client) == 0
    assert len(incidents.events(incident, "page_failing")) == 1

    receiver.status = 200
    clock.advance(60)
    assert deliver(client) == 1
    detail = _detail(client, page["id"])
    assert (detail["status"], detail["attempts"]) == ("sent", 7)
    assert _failing_gauge(client, "webhook") == 0


def test_acknowledging_the_incident_cancels_the_page(make_client, incidents, receiver, clock, notify, deliver, metric):
    incident = incidents.open()
    receiver.status = 500
    client = make_client(incident_management_url=incidents.url, **BUDGET)
    page = notify(client, incident_id=incident, channel="webhook", recipient=receiver.url)
    assert deliver(client) == 1
    cancelled_before = metric("notifications_sent_total", channel="webhook", status="cancelled")

    incidents.acknowledge(incident)
    clock.advance(5)
    assert deliver(client) == 1
    detail = _detail(client, page["id"])
    assert (detail["status"], detail["attempts"], detail["next_attempt_at"]) == ("cancelled", 1, None)
    assert len(receiver.requests) == 1, "no attempt is made for an acknowledged incident"
    clock.advance(3600)
    assert deliver(client) == 0
    assert [n["id"] for n in client.get("/api/v1/notifications", params={"status": "cancelled"}).json()] == [page["id"]]
    assert metric("notifications_sent_total", channel="webhook", status="cancelled") == cancelled_before + 1


def test_an_acknowledgement_seen_when_the_budget_runs_out_cancels_too(make_client, incidents, receiver, clock, notify, deliver):
    incident = incidents.open()
    receiver.status = 500
    client = make_client(incident_management_url=incidents.url, delivery_max_attempts=1)
    page = notify(client, incident_id=incident, channel="webhook", recipient=receiver.url)
    incidents.acknowledge(incident)  # between acceptance and the only attempt of the budget
    assert deliver(client) == 1
    assert _detail(client, page["id"])["status"] == "cancelled"
    assert incidents.events(incident, "page_failing") == []


def test_with_incident_management_down_the_page_keeps_going_and_the_report_waits_for_it(
    make_client, start_incidents, receiver, clock, notify, deliver
):
    port = free_port()
    with start_incidents(port) as incidents:
        incident = incidents.open()
    receiver.status = 500
    client = make_client(incident_management_url=f"http://127.0.0.1:{port}", **BUDGET)
    page = notify(client, incident_id=incident, channel="webhook", recipient=receiver.url)

    _spend_the_budget(client, clock, deliver)
    assert _detail(client, page["id"])["status"] == "pending", "incident-management down: the page goes on"
    assert _report(client) == 1  # tried, incident-management down: still pending
    clock.advance(60)
    assert deliver(client) == 1

    with start_incidents(port) as incidents:
        clock.advance(60)
        assert _report(client) == 1
        assert len(incidents.events(incident, "page_failing")) == 1
        assert _report(client) == 0


def test_a_page_failing_past_the_give_up_time_ends_failed_on_the_timeline(make_client, incidents, receiver, clock, notify, deliver):
    incident = incidents.open()
    receiver.status = 500
    client = make_client(incident_management_url=incidents.url, delivery_give_up_seconds=600, **BUDGET)
    page = notify(client, incident_id=incident, channel="webhook", recipient=receiver.url)
    _spend_the_budget(client, clock, deliver)
    while _detail(client, page["id"])["status"] == "pending":
        clock.advance(60)
        assert deliver(client) == 1
    detail = _detail(client, page["id"])
    assert (detail["status"], detail["next_attempt_at"]) == ("failed", None)
    assert detail["attempts"] == 3 + 10  # 15 s into the budget, then every 60 s until 600 s had passed
    assert _report(client) == 2
    assert [len(incidents.events(incident, kind)) for kind in ("page_failing", "page_failed")] == [1, 1]
    assert "not retried any more" in incidents.events(incident, "page_failed")[0]["message"]


def test_a_receiver_refusing_a_page_for_good_fails_it_at_once_on_the_timeline(make_client, incidents, receiver, notify, deliver):
    incident = incidents.open()
    receiver.status = 410
    client = make_client(incident_management_url=incidents.url)
    page = notify(client, incident_id=incident, channel="webhook", recipient=receiver.url)
    assert deliver(client) == 1
    assert _detail(client, page["id"])["status"] == "failed"
    assert _report(client) == 1
    [event] = incidents.events(incident, "page_failed")
    assert "HTTP 410" in event["message"]


def test_fallbacks_reach_the_person_on_other_channels_in_order(make_client, incidents, receiver, inbox, clock, notify, deliver):
    incident = incidents.open()
    receiver.status = 500
    inbox.refuse.add("alice@example.com")  # the first fallback fails for good too
    client = make_client(incident_management_url=incidents.url, smtp_port=inbox.port, **BUDGET)
    fallbacks = [{"channel": "email", "recipient": "alice@example.com"}, {"channel": "email", "recipient": "alice.home@example.org"}]
    page = notify(client, incident_id=incident, channel="webhook", recipient=receiver.url, fallbacks=fallbacks)
    assert deliver(client) == 1
    assert client.get("/api/v1/notifications").headers["X-Total-Count"] == "1", "no fallback before the budget is spent"

    clock.advance(5)
    assert deliver(client) == 1
    clock.advance(10)
    assert deliver(client) == 3  # the primary's last budget attempt, then the first fallback (refused: 550), then the second
    by_parent = {n["fallback_of"]: n for n in client.get("/api/v1/notifications").json()}
    first, second = by_parent[page["id"]], by_parent[by_parent[page["id"]]["id"]]
    assert (first["channel"], first["recipient"], first["status"]) == ("email", "alice@example.com", "failed")
    assert (second["channel"], second["recipient"], second["status"]) == ("email", "alice.home@example.org", "sent")
    assert [m["To"] for m in inbox.messages] == ["alice.home@example.org"]
    assert _detail(client, page["id"])["status"] == "pending", "the primary channel is still retried"

    clock.advance(60)
    assert deliver(client) == 1  # only the primary: each fallback is started once
    assert client.get("/api/v1/notifications").headers["X-Total-Count"] == "3"
    assert _report(client) == 2
    [failing] = incidents.events(incident, "page_failing")
    assert failing["data"]["fallback"] == {"channel": "email", "recipient": "alice@example.com"}
    assert len(incidents.events(incident, "page_failed")) == 1  # the first fallback's 550


def test_fallbacks_are_validated_like_the_recipient(client, clean_db):
    body = {
        "incident_id": "6f1c1c8e-6a57-4a55-9d7e-0c2f1b0e9a11",
        "channel": "mock",
        "recipient": "alice",
        "message": "m",
        "fallbacks": [{"channel": "email", "recipient": "alice@example.com"}, {"channel": "webhook", "recipient": "http://10.0.0.1/hook"}],
    }
    response = client.post("/api/v1/notify", json=body)
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == "fallbacks.1.recipient"
    assert "WEBHOOK_ALLOWED_HOSTS" in detail["message"]
    bad_email = {**body, "fallbacks": [{"channel": "email", "recipient": "alice"}]}
    assert client.post("/api/v1/notify", json=bad_email).status_code == 422
    assert client.get("/api/v1/notifications").headers["X-Total-Count"] == "0"
