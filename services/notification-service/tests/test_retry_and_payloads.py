"""Unit tests: backoff math, retry decisions, recipient rules, webhook and email payloads, settings."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from notification.channels import Notification
from notification.channels.email import build_message
from notification.channels.webhook import WebhookChannel, build_payload
from notification.config import Settings
from notification.egress import EgressPolicy
from notification.incidents import IncidentState
from notification.retries import RetryPolicy, backoff_seconds
from notification.schemas import ChannelName, NotifyRequest

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
INCIDENT = uuid.UUID("6f1c1c8e-6a57-4a55-9d7e-0c2f1b0e9a11")


def _notification(recipient: str, message: str = "[HIGH] checkout down", channel: str = "webhook") -> Notification:
    return Notification(id=uuid.UUID(int=7), incident_id=INCIDENT, channel=channel, recipient=recipient, message=message)


@pytest.mark.parametrize(("failed", "expected"), [(0, 0), (1, 5), (2, 10), (3, 20), (4, 40), (5, 60), (50, 60), (10_000, 60)])
def test_backoff_doubles_from_base_and_is_capped(failed, expected):
    assert backoff_seconds(failed, base=5, maximum=60) == expected


def _after(policy: RetryPolicy, failed: int, *, state=IncidentState.UNKNOWN, permanent=False, age=0.0, failing=False):
    asked = []

    def incident() -> IncidentState:
        asked.append(True)
        return state

    decision = policy.after_failure(
        failed, permanent=permanent, now=T0, created_at=T0 - timedelta(seconds=age), already_failing=failing, incident=incident
    )
    return decision, bool(asked)


def test_retry_policy_schedules_until_max_attempts_then_a_plain_notification_fails():
    policy = RetryPolicy(base_seconds=5, max_seconds=60, max_attempts=3)
    assert _after(policy, 1)[0].next_attempt_at == T0 + timedelta(seconds=5)
    second, asked = _after(policy, 2)
    assert (second.status, second.next_attempt_at, asked) == ("pending", T0 + timedelta(seconds=10), False)  # incident not asked yet
    decision, asked = _after(policy, 3, state=IncidentState.UNKNOWN)
    assert (decision.status, decision.next_attempt_at, decision.report, asked) == ("failed", None, None, True)


def test_retry_policy_gives_up_at_once_on_a_permanent_error_and_reports_it():
    decision, asked = _after(RetryPolicy(base_seconds=5, max_seconds=60, max_attempts=5), 1, permanent=True)
    assert (decision.status, decision.report, decision.starts_fallback, asked) == ("failed", "page_failed", True, False)


@pytest.mark.parametrize("state", [IncidentState.OPEN, IncidentState.UNREACHABLE])
def test_a_page_of_an_open_or_unreadable_incident_is_never_abandoned(state):
    policy = RetryPolicy(base_seconds=5, max_seconds=60, max_attempts=3, give_up_seconds=86400)
    first, _ = _after(policy, 3, state=state)
    assert (first.status, first.failing, first.report, first.starts_fallback) == ("pending", True, "page_failing", True)
    assert first.next_attempt_at == T0 + timedelta(seconds=20)
    later, _ = _after(policy, 500, state=state, failing=True, age=86399)
    assert (later.status, later.report, later.next_attempt_at) == ("pending", None, T0 + timedelta(seconds=60))  # capped, reported once


def test_a_page_ends_failed_and_reported_after_the_give_up_time():
    decision, _ = _after(RetryPolicy(5, 60, 3, give_up_seconds=3600), 40, state=IncidentState.OPEN, failing=True, age=3600)
    assert (decision.status, decision.report) == ("failed", "page_failed")


def test_a_page_of_an_acknowledged_incident_is_cancelled_once_the_budget_is_spent():
    decision, _ = _after(RetryPolicy(5, 60, 3), 3, state=IncidentState.CLOSED)
    assert (decision.status, decision.next_attempt_at, decision.outcome) == ("cancelled", None, "cancelled")


def test_retry_policy_reads_settings():
    policy = RetryPolicy.from_settings(
        Settings(delivery_retry_base_seconds=2, delivery_retry_max_seconds=30, delivery_max_attempts=4, delivery_give_up_seconds=600)
    )
    assert policy == RetryPolicy(base_seconds=2, max_seconds=30, max_attempts=4, give_up_seconds=600)


def test_webhook_payload_is_slack_compatible_with_structured_fields():
    payload = build_payload(_notification("https://hooks.example.com/T1/B2"))
    assert payload == {
        "text": "[HIGH] checkout down",
        "notification_id": str(uuid.UUID(int=7)),
        "incident_id": str(INCIDENT),
        "recipient": None,
        "message": "[HIGH] checkout down",
    }


def test_webhook_payload_names_a_person_recipient_in_the_text():
    payload = build_payload(_notification("alice@example.com"))
    assert payload["text"] == "[HIGH] checkout down (on-call: alice@example.com)"
    assert payload["recipient"] == "alice@example.com"


def test_webhook_target_is_the_url_recipient_or_the_configured_url():
    channel = WebhookChannel(default_url="http://chat.local/hook", policy=EgressPolicy(), timeout=1)
    assert channel.target_url("https://x.example/h") == "https://x.example/h"
    assert channel.target_url("alice") == "http://chat.local/hook"
    assert channel.recipient_problem("alice") is None
    assert "WEBHOOK_URL" in WebhookChannel(default_url=None, policy=EgressPolicy(), timeout=1).recipient_problem("alice")


def test_email_message_has_recipient_subject_with_incident_and_body():
    message = build_message(_notification("bob@example.com", "[CRITICAL] db down\nsecond line", "email"), sender="oncall@platform.test")
    assert message["To"] == "bob@example.com"
    assert message["From"] == "oncall@platform.test"
    assert message["Subject"] == f"[Incident {INCIDENT}] [CRITICAL] db down"
    assert message["Message-ID"] == f"<{uuid.UUID(int=7)}@platform.test>"  # the same on every attempt
    body = message.get_content()
    assert "[CRITICAL] db down\nsecond line" in body
    assert f"Incident: {INCIDENT}" in body


@pytest.mark.parametrize(
    ("channel", "recipient"),
    [
        ("email", "alice@example.com"),
        ("email", "a.b+tag@sub.example.org"),
        ("webhook", "https://hooks.slack.com/services/T/B/X"),
        ("webhook", "http://127.0.0.1:9000/h?x=1"),
        ("webhook", "Alice Smith"),
        ("mock", "anyone at all"),
    ],
)
def test_recipient_rules_accept(channel, recipient):
    assert NotifyRequest(incident_id=INCIDENT, channel=channel, recipient=recipient, message="m").recipient == recipient


@pytest.mark.parametrize(
    ("channel", "recipient"),
    [
        ("email", "alice"),
        ("email", "alice@localhost"),
        ("email", "Alice <alice@example.com>"),
        ("email", "a@b.com\nBcc: x@y.z"),
        ("webhook", "http://"),
        ("webhook", "https:// spaced.example"),
        ("webhook", "line\nbreak"),
        ("mock", "   "),
    ],
)
def test_recipient_rules_refuse(channel, recipient):
    with pytest.raises(ValidationError) as error:
        NotifyRequest(incident_id=INCIDENT, channel=channel, recipient=recipient, message="m")
    assert error.value.errors()[0]["loc"] == ("recipient",)


def test_unknown_channel_is_refused():
    with pytest.raises(ValidationError) as error:
        NotifyRequest(incident_id=INCIDENT, channel="sms", recipient="x", message="m")
    assert [e["loc"] for e in error.value.errors()] == [("channel",)]
    assert set(ChannelName) == {"mock", "webhook", "email", "apprise"}


def test_smtp_password_never_shows_in_settings_repr():
    settings = Settings(smtp_password="hunter2-very-secret")
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.model_dump())
    assert settings.smtp_password.get_secret_value() == "hunter2-very-secret"


def test_empty_env_values_mean_not_configured(monkeypatch):
    from notification.config import Settings

    monkeypatch.setenv("WEBHOOK_URL", "")
    monkeypatch.setenv("SMTP_USERNAME", " ")
    monkeypatch.setenv("SMTP_PASSWORD", "")
    settings = Settings()
    assert settings.webhook_url is None and settings.smtp_username is None and settings.smtp_password is None
