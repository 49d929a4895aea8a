"""Outbound webhooks go only to allowed hosts (SSRF, SPEC §13): refused at the API with a 422 and
nothing stored, refused again at send time on the addresses actually connected to, and no receiver's
answer ever shows up in an error. Real receivers over HTTP; DNS is replaced only where a test must
make a name resolve somewhere."""

import uuid

import pytest
from pydantic import ValidationError

from notification.channels import DeliveryError, Notification
from notification.channels.webhook import WebhookChannel
from notification.config import Settings
from notification.egress import EgressPolicy, HostEntry, parse_allowed_hosts, url_problem

INCIDENT = "6f1c1c8e-6a57-4a55-9d7e-0c2f1b0e9a11"
PUBLIC = "93.184.216.34"


def _port(url: str) -> int:
    return int(url.split(":")[2].split("/")[0])


@pytest.mark.parametrize(
    ("value", "entries"),
    [
        ("", ()),
        ("hooks.slack.com", (HostEntry("hooks.slack.com"),)),
        (" Chat.Example.ORG:8443 , 10.0.0.5", (HostEntry("chat.example.org", 8443), HostEntry("10.0.0.5"))),
        ("[fd00::1]:80,::1", (HostEntry("fd00::1", 80), HostEntry("::1"))),
    ],
)
def test_allowed_hosts_parse(value, entries):
    assert parse_allowed_hosts(value) == entries


@pytest.mark.parametrize("value", ["host:0", "host:99999", "host:http", "http://host", "host/path", "user@host", "a b"])
def test_a_malformed_allowed_host_stops_the_settings_with_the_entry_named(value):
    with pytest.raises(ValidationError) as error:
        Settings(webhook_allowed_hosts=f"ok.example,{value}")
    assert "WEBHOOK_ALLOWED_HOSTS entry" in str(error.value)


def test_webhook_url_with_credentials_or_another_scheme_stops_the_settings():
    with pytest.raises(ValidationError, match="credentials"):
        Settings(webhook_url="https://user:secret@chat.example.org/hook")
    with pytest.raises(ValidationError, match="only http and https"):
        Settings(webhook_url="file:///etc/passwd")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://user:pw@hooks.example/x", "credentials"),
        ("https://@hooks.example/x", "credentials"),
        ("gopher://hooks.example/x", "only http and https"),
        ("http://hooks.example:99999/x", "not a valid URL"),
        ("http:///x", "no host"),
    ],
)
def test_url_problems(url, problem):
    assert problem in url_problem(url)


def _policy(allowed: str, resolves_to: dict[str, list[str]], webhook_url: str | None = None) -> EgressPolicy:
    return EgressPolicy.from_settings(allowed_hosts=allowed, webhook_url=webhook_url, resolve=lambda host, port: resolves_to[host])


def test_policy_allows_listed_public_hosts_and_nothing_else():
    policy = _policy("hooks.example, chat.example:8443", {"hooks.example": [PUBLIC], "chat.example": [PUBLIC], "evil.example": [PUBLIC]})
    assert policy.check("https://hooks.example/T/B/X") is None
    assert policy.check("http://hooks.example:8080/any-port") is None  # a bare host allows every port
    assert policy.check("https://chat.example:8443/x") is None
    assert "not in WEBHOOK_ALLOWED_HOSTS" in policy.check("https://chat.example/x")  # 443 is not 8443
    assert "not in WEBHOOK_ALLOWED_HOSTS" in policy.check("https://evil.example/x")


@pytest.mark.parametrize(
    ("address", "kind"),
    [("127.0.0.1", "loopback"), ("169.254.169.254", "link-local"), ("10.0.0.1", "private"), ("::ffff:127.0.0.1", "loopback")],
)
def test_a_listed_name_resolving_to_a_non_public_address_is_refused_unless_the_address_is_listed(address, kind):
    assert f"the {kind} address {address}" in _policy("hooks.example", {"hooks.example": [PUBLIC, address]}).check("http://hooks.example/")
    assert _policy(f"hooks.example,{address}", {"hooks.example": [address]}).check("http://hooks.example/") is None


def test_webhook_urls_own_host_and_port_are_trusted_whatever_they_resolve_to():
    policy = _policy("", {"mattermost": ["172.18.0.5"]}, webhook_url="http://mattermost:8065/hooks/abc")
    assert policy.check("http://mattermost:8065/hooks/other") is None
    assert "not in WEBHOOK_ALLOWED_HOSTS" in policy.check("http://mattermost:9090/-/quit")


def test_a_host_that_does_not_resolve_now_is_accepted_and_checked_when_sending():
    def unresolvable(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    policy = EgressPolicy.from_settings(allowed_hosts="hooks.example", webhook_url=None, resolve=unresolvable)
    assert policy.check("https://hooks.example/x") is None
    with pytest.raises(OSError):
        policy.addresses("hooks.example", 443)


@pytest.mark.parametrize(
    "recipient",
    [
        "http://127.0.0.1:9090/-/quit",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::1]:8080/x",
        "https://hooks.slack.com.evil.example/x",
    ],
)
def test_notify_to_a_refused_webhook_host_is_422_and_nothing_is_stored_or_sent(make_client, receiver, deliver, recipient):
    client = make_client(webhook_allowed_hosts=f"127.0.0.1:{_port(receiver.url)}")
    response = client.post("/api/v1/notify", json={"incident_id": INCIDENT, "channel": "webhook", "recipient": recipient, "message": "m"})
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == "recipient"
    assert "WEBHOOK_ALLOWED_HOSTS" in detail["message"]
    assert client.get("/api/v1/notifications").headers["X-Total-Count"] == "0"
    assert deliver(client) == 0
    assert receiver.requests == []


def test_notify_with_credentials_in_the_url_is_422(client, receiver):
    url = receiver.url.replace("http://", "http://admin:hunter2@")
    response = client.post("/api/v1/notify", json={"incident_id": INCIDENT, "channel": "webhook", "recipient": url, "message": "m"})
    assert response.status_code == 422
    assert "credentials" in response.json()["error"]["details"][0]["message"]
    assert client.get("/api/v1/notifications").headers["X-Total-Count"] == "0"


def test_a_listed_name_that_resolves_to_loopback_is_refused_after_resolution(make_client, receiver):
    port = _port(receiver.url)
    client = make_client(webhook_allowed_hosts=f"localhost:{port}")  # the name is listed, 127.0.0.1 is not
    recipient = f"http://localhost:{port}/hook"
    response = client.post("/api/v1/notify", json={"incident_id": INCIDENT, "channel": "webhook", "recipient": recipient, "message": "m"})
    assert response.status_code == 422
    assert "loopback address" in response.json()["error"]["details"][0]["message"]


def _notification(url: str) -> Notification:
    return Notification(id=uuid.uuid4(), incident_id=uuid.UUID(INCIDENT), channel="webhook", recipient=url, message="db down")


def test_the_address_is_checked_again_at_send_time_and_only_vetted_addresses_are_connected_to(receiver):
    port = _port(receiver.url)
    dns = {"hooks.example": [PUBLIC]}
    channel = WebhookChannel(default_url=None, policy=_policy(f"hooks.example:{port}", dns), timeout=2)
    url = f"http://hooks.example:{port}/hook"
    assert channel.recipient_problem(url) is None  # accepted while the name resolved to a public address

    dns["hooks.example"] = ["127.0.0.1"]  # DNS changed before the attempt: now it points inside
    with pytest.raises(DeliveryError) as refused:
        channel.send(_notification(url))
    assert refused.value.permanent
    assert "loopback address 127.0.0.1" in str(refused.value)
    assert receiver.requests == []

    listed = WebhookChannel(default_url=None, policy=_policy(f"hooks.example:{port},127.0.0.1", dns), timeout=2)
    listed.send(_notification(url))  # once 127.0.0.1 is listed, the vetted address is the one connected to
    [request] = receiver.requests
    assert request["headers"]["host"] == f"hooks.example:{port}"


def test_receiver_answers_never_reach_errors_or_the_api(make_client, receiver, notify, deliver):
    receiver.status = 500  # the receiver answers {"error": "receiver failing"}
    client = make_client(webhook_allowed_hosts="127.0.0.1")
    created = notify(client, channel="webhook", recipient=receiver.url)
    deliver(client)
    detail = client.get(f"/api/v1/notifications/{created['id']}").json()
    assert detail["last_error"] == "HTTP 500"
    assert [a["error"] for a in detail["delivery_attempts"]] == ["HTTP 500"]
    assert "receiver failing" not in client.get(f"/api/v1/notifications/{created['id']}").text
