"""What oncall-service asks of its peers: an incident and its timeline from incident-management, pages
through notification-service. Which incidents are due for escalation is not asked over HTTP: it is read
from the view incident-management publishes (see `engine/due.py`). A peer that is down raises
`PeerUnavailable`; a peer that refuses a request raises `PeerRejected` (retrying would not help)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from platform_common.http import PeerUnavailable, ServiceClient

ACTOR = "oncall-service"


class PeerRejected(Exception):
    """The peer answered 4xx to a request we built: a bug or a deleted object, not an outage."""


@dataclass(frozen=True)
class Incident:
    id: UUID
    title: str
    team: str
    severity: str
    status: str
    assigned_to: str | None
    created_at: datetime

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> "Incident":
        return cls(
            id=UUID(body["id"]),
            title=body["title"],
            team=body["service"],
            severity=body["severity"],
            status=body["status"],
            assigned_to=body.get("assigned_to"),
            created_at=datetime.fromisoformat(body["created_at"]),
        )


def _check(response, what: str) -> None:
    if response.status_code >= 500:
        raise PeerUnavailable(f"{what}: HTTP {response.status_code}")
    if response.status_code >= 400:
        raise PeerRejected(f"{what}: HTTP {response.status_code} {response.text[:200]}")


def get_incident(incidents: ServiceClient, incident_id: UUID) -> Incident | None:
    """The incident, or None when incident-management does not know it."""
    response = incidents.get(f"/api/v1/incidents/{incident_id}")
    if response.status_code == 404:
        return None
    _check(response, f"reading incident {incident_id}")
    return Incident.from_json(response.json())


def page(
    notifier: ServiceClient, *, incident_id: UUID, channel: str, recipient: str, message: str, key: str, not_before: str | None = None
) -> None:
    """One notification (not sent before `not_before`, if given: a delayed notification rule); the
    idempotency key makes a retried page a no-op at notification-service."""
    body = {"incident_id": str(incident_id), "channel": channel, "recipient": recipient, "message": message}
    if not_before is not None:
        body["not_before"] = not_before
    response = notifier.post("/api/v1/notify", json=body, headers={"Idempotency-Key": key})
    _check(response, f"paging {recipient} via {channel}")


def record_event(
    incidents: ServiceClient,
    *,
    incident_id: UUID,
    kind: str,
    key: str,
    message: str,
    data: dict[str, Any],
    assigned_to: str | None = None,
) -> None:
    """One timeline event; the idempotency key lets incident-management recognise a retried write."""
    body: dict[str, Any] = {"kind": kind, "actor": ACTOR, "message": message, "data": data}
    if assigned_to is not None:
        body["assigned_to"] = assigned_to
    response = incidents.post(f"/api/v1/incidents/{incident_id}/timeline", json=body, headers={"Idempotency-Key": key})
    _check(response, f"recording {kind} on incident {incident_id}")
