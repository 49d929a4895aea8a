"""The webhook channel: an HTTP POST of a Slack / Mattermost compatible JSON body.

The body is `{"text": ...}` (what incoming webhooks of Slack and Mattermost display) plus structured
fields for other receivers. The recipient is either the URL to post to, or a name (e.g. the on-call
person) announced in the text and posted to the configured WEBHOOK_URL. A 2xx answer is a delivery;
408, 425, 429 and 5xx answers and transport errors (including the attempt's deadline) are retried;
other 4xx answers, and destinations the egress policy refuses, fail at once.

Error messages name the status or the transport problem, never anything the receiver sent back.
"""

import json
from typing import Any

import httpcore

from notification.channels import DeliveryError, Notification, outbound, url_destination
from notification.egress import EgressPolicy, EgressRefused
from notification.schemas import looks_like_url

RETRYABLE_4XX = frozenset({408, 425, 429})
HEADERS = (("Content-Type", "application/json"), ("User-Agent", "incident-platform-notifier"))
# Every attempt at one notification carries the same key: a receiver that honours it shows the page once,
# even when an attempt is made again because its outcome could not be recorded (delivery is at least once).
IDEMPOTENCY_HEADER = "Idempotency-Key"


def build_payload(notification: Notification) -> dict[str, Any]:
    named = not looks_like_url(notification.recipient)
    text = f"{notification.message} (on-call: {notification.recipient})" if named else notification.message
    return {
        "text": text,
        "notification_id": str(notification.id),
        "incident_id": str(notification.incident_id),
        "recipient": notification.recipient if named else None,
        "message": notification.message,
    }


class WebhookChannel:
    def __init__(self, *, default_url: str | None, policy: EgressPolicy, timeout: float) -> None:
        self.default_url = default_url
        self.policy = policy
        self.timeout = timeout

    def target_url(self, recipient: str) -> str | None:
        return recipient if looks_like_url(recipient) else self.default_url

    def recipient_problem(self, recipient: str) -> str | None:
        if looks_like_url(recipient):
            return self.policy.check(recipient)
        if self.default_url is None:
            return "not an http(s) URL, and no WEBHOOK_URL is configured to send named recipients to"
        return None

    def destination(self, recipient: str) -> str:
        url = self.target_url(recipient)
        return url_destination("webhook", url) if url else "webhook"

    def send(self, notification: Notification) -> None:
        url = self.target_url(notification.recipient)
        if url is None:
            raise DeliveryError("no WEBHOOK_URL configured", permanent=True)
        body = json.dumps(build_payload(notification)).encode()
        headers = (*HEADERS, (IDEMPOTENCY_HEADER, str(notification.id)))
        try:
            status = outbound.post(url, body, headers=headers, policy=self.policy, timeout=self.timeout)
        except EgressRefused as exc:
            raise DeliveryError(f"destination refused: {exc}", permanent=True) from exc
        except httpcore.TimeoutException as exc:
            raise DeliveryError(f"{type(exc).__name__}: no answer within the {self.timeout:g} s attempt deadline") from exc
        except httpcore.NetworkError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        except httpcore.ProtocolError as exc:
            raise DeliveryError(f"{type(exc).__name__}: the receiver's answer is not valid HTTP") from exc
        if 200 <= status < 300:
            return
        permanent = 400 <= status < 500 and status not in RETRYABLE_4XX
        raise DeliveryError(f"HTTP {status}", permanent=permanent)

    def close(self) -> None:
        pass
