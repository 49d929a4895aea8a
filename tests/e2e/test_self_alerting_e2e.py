"""The platform's own alerts reach a person without the platform's delivery path: Prometheus and
Alertmanager started exactly as `make run` starts them (platform_local.run, the shipped rules,
monitoring/alertmanager/ filled from the environment) fire a shipped rule, Alertmanager holds the alert
(/api/v2/alerts) and mails it through its own SMTP relay to a real SMTP server (aiosmtpd)."""

import email
import email.policy
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from platform_local import run
from platform_local.stack import SERVICES, Stack
from platform_local.supervisor import Supervisor
from tests.support.alerting import metrics_target, require_binaries
from tests.support.servers import free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

OPERATORS = "sre-oncall@example.test"
SENDER = "alertmanager@example.test"
# What a notification-service whose email pages end as failed exports (the PlatformNotificationFailures
# rule fires on the first failure of a channel, without a `for:` wait).
FAILING_EXPORT = 'notifications_sent_total{channel="email",status="failed"} 1\nnotifications_sent_total{channel="email",status="sent"} 0\n'


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def exporter() -> Iterator[int]:
    """One scrape target standing in for every service: up, with email pages failing."""
    with metrics_target(lambda: FAILING_EXPORT) as target:
        yield int(target.rsplit(":", 1)[1])


@pytest.fixture
def monitoring(tmp_path: Path, inbox, exporter, monkeypatch) -> Iterator[dict[str, str]]:
    """Alertmanager and Prometheus started by `make run`'s own functions on free ports."""
    require_binaries()
    _, smtp_port = inbox
    monkeypatch.setenv("ALERTMANAGER_PORT", str(free_port()))
    monkeypatch.setenv("PROMETHEUS_PORT", str(free_port()))
    monkeypatch.setenv("ALERTMANAGER_SMTP_SMARTHOST", f"127.0.0.1:{smtp_port}")
    monkeypatch.setenv("ALERTMANAGER_EMAIL_TO", OPERATORS)
    monkeypatch.setenv("ALERTMANAGER_EMAIL_FROM", SENDER)
    monkeypatch.delenv("ALERTMANAGER_SMTP_REQUIRE_TLS", raising=False)  # the local default: no TLS
    services = Stack(database_url="unused", ports={spec.name: exporter for spec in SERVICES}, log_dir=tmp_path / "logs")
    supervisor = Supervisor()
    try:
        alertmanager = run.start_alertmanager(supervisor, tmp_path)
        prometheus = run.start_prometheus(supervisor, tmp_path, services, alertmanager)
        yield {"alertmanager": f"http://{alertmanager}", "prometheus": prometheus}
    finally:
        supervisor.stop()


def test_a_platform_rule_fires_and_alertmanager_mails_the_operators(monitoring, inbox):
    handler, _ = inbox

    def firing_in_alertmanager():
        alerts = httpx.get(f"{monitoring['alertmanager']}/api/v2/alerts").json()
        return [a for a in alerts if a["labels"]["alertname"] == "PlatformNotificationFailures"]

    (alert,) = wait_until(firing_in_alertmanager, "Prometheus to fire the rule into Alertmanager", timeout=120)
    assert alert["labels"]["channel"] == "email"
    assert (alert["labels"]["severity"], alert["labels"]["component"]) == ("high", "incident-platform")
    assert alert["annotations"]["summary"] == "Notifications over email are failing"
    assert alert["status"]["state"] == "active"
    senders = httpx.get(f"{monitoring['prometheus']}/api/v1/alertmanagers").json()["data"]["activeAlertmanagers"]
    assert [am["url"] for am in senders] == [f"{monitoring['alertmanager']}/api/v2/alerts"]

    message = wait_until(lambda: handler.messages and handler.messages[0], "Alertmanager to mail the operators", timeout=120)
    assert handler.envelopes[0] == (SENDER, [OPERATORS])
    assert message["To"] == OPERATORS and message["From"] == SENDER
    assert message["Subject"].startswith("[FIRING:1] PlatformNotificationFailures")
    body = message.get_body(preferencelist=("plain", "html")).get_content()
    assert "Notifications over email are failing" in body
