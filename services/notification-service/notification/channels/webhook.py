"""The webhook channel: an HTTP POST of a Slack / Mattermost compatible JSON body.

The body is `{"text": ...}` (what incoming webhooks of Slack and Mattermost display) plus structured
fields for other receivers. The recipient is either the URL to post to, or a name (e.g. the on-call
person) announced in the text and posted to the configured WEBHOOK_URL. A 2xx answer is a delivery;
408, 429 and 5xx answers and transport errors are retried; other 4xx answers fail at once.
"""

from typing import Any

import httpx

from notification.channels import DeliveryError, Notification
from notification.schemas import looks_like_url

RETRYABLE_4XX = frozenset({408, 425, 429})


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
    def __init__(self, *, default_url: str | None, timeout: float, transport: httpx.BaseTransport | None = None) -> None:
        self.default_url = default_url
        self._client = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)

    def target_url(self, recipient: str) -> str | None:
        return recipient if looks_like_url(recipient) else self.default_url

    def recipient_problem(self, recipient: str) -> str | None:
        if self.target_url(recipient) is None:
            return "not an http(s) URL, and no WEBHOOK_URL is configured to send named recipients to"
        return None

    def send(self, notification: Notification) -> None:
        url = self.target_url(notification.recipient)
        if url is None:
            raise DeliveryError("no WEBHOOK_URL configured", permanent=True)
        try:
            response = self._client.post(url, json=build_payload(notification), headers={"User-Agent": "incident-platform-notifier"})
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if response.is_success:
            return
        permanent = 400 <= response.status_code < 500 and response.status_code not in RETRYABLE_4XX
        raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}", permanent=permanent)

    def close(self) -> None:
        self._client.close()
