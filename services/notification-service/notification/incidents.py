"""What notification-service asks of incident-management: whether a page's incident still wants it
(`open`), and recording a failing page on the incident's timeline.

Reading the incident never raises: a peer that is down or answers oddly is `UNREACHABLE`, and a page
is then kept going (better one page too many than a page silently dropped).
"""

import logging
from enum import StrEnum
from typing import Any
from uuid import UUID

from platform_common.http import PeerUnavailable, ServiceClient

logger = logging.getLogger(__name__)
ACTOR = "notification-service"


class IncidentState(StrEnum):
    OPEN = "open"  # unacknowledged: keep paging
    CLOSED = "closed"  # acknowledged, in progress or resolved: the page is no longer needed
    UNKNOWN = "unknown"  # incident-management does not know it: a plain notification
    UNREACHABLE = "unreachable"  # could not ask: keep paging


class ReportRejected(Exception):
    """incident-management refused the timeline event (4xx other than 404): retrying would not help."""


def incident_state(incidents: ServiceClient, incident_id: UUID) -> IncidentState:
    try:
        response = incidents.get(f"/api/v1/incidents/{incident_id}")
    except PeerUnavailable:
        return IncidentState.UNREACHABLE
    if response.status_code == 404:
        return IncidentState.UNKNOWN
    if response.status_code != 200:
        logger.warning("reading incident %s: incident-management answered %d", incident_id, response.status_code)
        return IncidentState.UNREACHABLE
    return IncidentState.OPEN if response.json().get("status") == "open" else IncidentState.CLOSED


def record_event(incidents: ServiceClient, *, incident_id: UUID, kind: str, message: str, data: dict[str, Any], key: str) -> bool:
    """Record one timeline event; False when the incident does not exist. The idempotency key lets
    incident-management recognise a retried write. Raises PeerUnavailable or ReportRejected."""
    body = {"kind": kind, "actor": ACTOR, "message": message, "data": data}
    response = incidents.post(f"/api/v1/incidents/{incident_id}/timeline", json=body, headers={"Idempotency-Key": key})
    if response.status_code == 404:
        return False
    if response.status_code >= 500:
        raise PeerUnavailable(f"incident-management answered {response.status_code}")
    if response.status_code >= 400:
        raise ReportRejected(f"incident-management refused the {kind} event: HTTP {response.status_code}")
    return True
