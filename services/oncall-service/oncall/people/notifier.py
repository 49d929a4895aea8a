"""What the people API asks notification-service: whether it would take a contact method's address
(the same checks a page gets: format, an Apprise URL Apprise can use, the egress allow-list), and to
send a test page. Called with no database connection held. A peer that is down raises
`PeerUnavailable` (503); an address it refuses raises `InvalidInput` (422) saying why."""

import uuid
from typing import Any

from platform_common.errors import InvalidInput
from platform_common.http import PeerUnavailable, ServiceClient


def _refused(response) -> InvalidInput:
    try:
        details = response.json()["error"]["details"]
        reason = "; ".join(detail["message"] for detail in details)
    except (ValueError, KeyError, TypeError):
        reason = f"notification-service refused it (HTTP {response.status_code})"
    return InvalidInput(f"Invalid address: {reason}", details=[{"field": "address", "message": reason, "type": "value_error"}])


def _check(response) -> None:
    if response.status_code >= 500:
        raise PeerUnavailable(f"notification-service answered {response.status_code}")
    if response.status_code >= 400:
        raise _refused(response)


def check_address(notifier: ServiceClient, *, channel: str, address: str) -> None:
    """Raise unless notification-service would accept notifications to `address` on `channel` now."""
    _check(notifier.post("/api/v1/destinations/check", json={"channel": channel, "recipient": address}))


def send_test_page(notifier: ServiceClient, *, name: str, channel: str, address: str) -> dict[str, Any]:
    """A test page to one contact method ("send me a test page"); it belongs to no incident."""
    message = f"[TEST] Test page for {name}: this {channel} contact method reaches you. Nothing to acknowledge."
    response = notifier.post(
        "/api/v1/notify", json={"incident_id": str(uuid.uuid4()), "channel": channel, "recipient": address, "message": message}
    )
    _check(response)
    return response.json()
