"""The apprise channel with the real Apprise library: a `json://` URL pointed at a real HTTP receiver,
the egress allow-list on every connection Apprise opens, the attempt deadline, secrets hidden in lists,
delayed notifications (`not_before`) and the destination check oncall-service asks before keeping a
contact method."""

import inspect
from datetime import timedelta

import apprise
import pytest
from apprise.manager_plugins import NotificationManager

from notification import apprise_urls

INCIDENT = "6f1c1c8e-6a57-4a55-9d7e-0c2f1b0e9a11"
TELEGRAM = "tgram://123456789:AAE-secret-bot-token/-100200300/"


def _apprise_url(http_url: str) -> str:
    return "json" + http_url.removeprefix("http")  # json://127.0.0.1:<port>/hook: Apprise's JSON POST


def _detail(client, notification_id: str) -> dict:
    return client.get(f"/api/v1/notifications/{notification_id}").json()


def test_an_apprise_url_is_delivered_through_the_real_library(client, receiver, notify, deliver, metric):
    before = metric("oncall_notifications_sent_total", channel="apprise")
    created = notify(
        client, channel="apprise", recipient=_apprise_url(receiver.url), message="[HIGH] checkout 5xx\nAcknowledge: https://x/y"
    )
    assert deliver(client) == 1
    [request] = receiver.requests
    assert request["json"]["title"] == "[HIGH] checkout 5xx"
    assert request["json"]["message"] == "[HIGH] checkout 5xx\nAcknowledge: https://x/y"
    assert request["headers"]["user-agent"].startswith("Apprise")
    detail = _detail(client, created["id"])
    assert (detail["status"], detail["attempts"], detail["last_error"]) == ("sent", 1, None)
    assert metric("oncall_notifications_sent_total", channel="apprise") == before + 1


def test_a_connection_to_a_host_not_allowed_is_refused_and_fails_at_once(make_client, receiver, notify, deliver):
    client = make_client(webhook_allowed_hosts="hooks.example.org")  # the receiver on loopback is not listed
    created = notify(client, channel="apprise", recipient=_apprise_url(receiver.url))
    assert deliver(client) == 1
    assert receiver.requests == []
    detail = _detail(client, created["id"])
    assert detail["status"] == "failed"
    assert detail["last_error"].startswith("apprise json://: destination refused: host 127.0.0.1:")
    assert "WEBHOOK_ALLOWED_HOSTS" in detail["last_error"]


def test_a_service_that_does_not_answer_in_time_is_retried_without_echoing_anything(make_client, receiver, notify, deliver):
    client = make_client(delivery_attempt_timeout_seconds=0.5)
    receiver.delay = 3.0
    receiver.status = 500
    created = notify(client, channel="apprise", recipient=_apprise_url(receiver.url))
    deliver(client)
    detail = _detail(client, created["id"])
    assert detail["status"] == "pending"
    assert detail["last_error"] == "apprise json://: no answer within the 0.5 s attempt deadline"


def test_a_refusing_service_is_retried_and_its_answer_is_not_recorded(client, receiver, notify, deliver):
    receiver.status = 503
    created = notify(client, channel="apprise", recipient=_apprise_url(receiver.url))
    deliver(client)
    detail = _detail(client, created["id"])
    assert detail["status"] == "pending"
    assert detail["last_error"] == "apprise json://: the service did not accept the notification or could not be reached"
    assert "receiver failing" not in str(detail)


@pytest.mark.parametrize(
    ("recipient", "problem"),
    [
        ("not a url", "Apprise URL"),
        ("nosuchservice://x/y", "not a URL Apprise can use"),
        ("mailto://user:pass@example.org", "does not go over HTTP(S)"),
        ("xmpp://user:pass@chat.example.org", "does not go over HTTP(S)"),
    ],
)
def test_what_apprise_cannot_use_is_refused_with_422_and_nothing_is_stored(client, recipient, problem):
    response = client.post("/api/v1/notify", json={"incident_id": INCIDENT, "channel": "apprise", "recipient": recipient, "message": "m"})
    assert response.status_code == 422
    assert problem in response.text
    assert client.get("/api/v1/notifications").headers["X-Total-Count"] == "0"


def test_listed_apprise_urls_hide_their_tokens(client, notify):
    created = notify(client, channel="apprise", recipient=TELEGRAM)
    assert created["recipient"].startswith("tgram://")
    for shown in (created, client.get("/api/v1/notifications").json()[0], _detail(client, created["id"])):
        assert "secret-bot-token" not in shown["recipient"]


def test_every_apprise_service_outside_http_is_refused():
    """The refused schemes are exactly the installed Apprise's plugins that never use `requests`."""
    manager = NotificationManager()
    manager.load_modules()
    not_http = {schema for schema, plugin in manager._schema_map.items() if "requests." not in inspect.getsource(inspect.getmodule(plugin))}
    for base_only in ("guilded", "jellyfin", "jellyfins"):  # subclasses of HTTP plugins defined in modules of their own
        not_http.discard(base_only)
    assert not_http == apprise_urls.NOT_HTTP_SCHEMES
    assert apprise.__version__ == "2.3.0"


def test_a_delayed_notification_waits_for_its_time(client, clock, receiver, notify, deliver):
    created = notify(
        client, channel="apprise", recipient=_apprise_url(receiver.url), not_before=(clock.now + timedelta(minutes=5)).isoformat()
    )
    assert created["next_attempt_at"] == created["not_before"]
    assert deliver(client) == 0
    clock.advance(299)
    assert deliver(client) == 0
    clock.advance(1)
    assert deliver(client) == 1
    assert len(receiver.requests) == 1


def test_a_delayed_notification_is_cancelled_when_the_incident_is_acknowledged_first(
    make_client, clock, incidents, receiver, notify, deliver
):
    client = make_client(incident_management_url=incidents.url)
    incident_id = incidents.open()
    later = (clock.now + timedelta(minutes=1)).isoformat()
    created = notify(client, incident_id=incident_id, channel="webhook", recipient=receiver.url, not_before=later)
    incidents.acknowledge(incident_id)
    clock.advance(60)
    deliver(client)
    assert _detail(client, created["id"])["status"] == "cancelled"
    assert receiver.requests == []


def test_the_destination_check_says_what_a_notification_would_be_refused_for(make_client, receiver):
    client = make_client(webhook_allowed_hosts="127.0.0.1")
    assert (
        client.post("/api/v1/destinations/check", json={"channel": "apprise", "recipient": _apprise_url(receiver.url)}).status_code == 200
    )
    assert client.post("/api/v1/destinations/check", json={"channel": "webhook", "recipient": receiver.url}).status_code == 200
    refused = client.post("/api/v1/destinations/check", json={"channel": "webhook", "recipient": "http://10.1.2.3/hook"})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["field"] == "recipient"
    assert client.post("/api/v1/destinations/check", json={"channel": "email", "recipient": "nope"}).status_code == 422
    assert client.post("/api/v1/destinations/check", json={"channel": "apprise", "recipient": "mailto://a@b.org"}).status_code == 422
    assert client.get("/api/v1/notifications").headers["X-Total-Count"] == "0"
