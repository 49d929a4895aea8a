"""What each Events API action does, for the integration whose routing key sent it.

- trigger: the alert is stored and correlated like any other (dedup.py: a repeat of a firing
  `dedup_key` is counted on that alert, never a second incident). Stored means accepted: if
  incident-management is down the alert is pending and correlated once it is back.
- acknowledge: the incident of the firing alert with that key is acknowledged, the integration named
  as the actor on its timeline. This needs incident-management: while it is down the answer is 503 and
  the sender retries (Events API clients retry 5xx), so an acknowledgement is never dropped silently.
- resolve: the firing alert with that key is resolved; its incident is told (and resolved, with
  AUTO_RESOLVE_INCIDENTS) once it has no firing alert left, by the resolution reporter.
An acknowledge or resolve for a key with no firing alert changes nothing, as at PagerDuty.
"""

import logging
from functools import partial
from typing import Any
from uuid import uuid4

from anyio import to_thread

from alert_ingestion import dedup
from alert_ingestion.events_v2.mapping import details_of, to_alert
from alert_ingestion.events_v2.schemas import EventIn
from alert_ingestion.metrics import ALERTS_DEDUPLICATED, count_received
from platform_common.auth.principal import Principal
from platform_common.errors import DependencyUnavailable

logger = logging.getLogger(__name__)
SOURCE = "events_v2"


async def process(state: Any, event: EventIn, integration: Principal) -> str:
    """Apply one valid event; returns its dedup_key."""
    if event.event_action == "trigger":
        return await _trigger(state, event, integration)
    if event.event_action == "acknowledge":
        await to_thread.run_sync(partial(_acknowledge, state, dedup_key=event.dedup_key, integration=integration))
    else:
        await dedup.resolve_and_report(state, source=SOURCE, integration_id=integration.id, dedup_key=event.dedup_key)
    return event.dedup_key


async def _trigger(state: Any, event: EventIn, integration: Principal) -> str:
    dedup_key = event.dedup_key or uuid4().hex
    alert = to_alert(event.payload, integration)
    outcome = await dedup.ingest(
        state.correlator, alert, source=SOURCE, dedup_key=dedup_key, integration_id=integration.id, details=details_of(event)
    )
    if outcome.deduplicated:
        ALERTS_DEDUPLICATED.labels(SOURCE).inc()
    else:
        count_received(alert)
    return dedup_key


def _acknowledge(state: Any, *, dedup_key: str, integration: Principal) -> None:
    alert = dedup.firing(state.engine, integration_id=integration.id, dedup_key=dedup_key)
    if alert is None:
        return
    incident_id = alert["incident_id"]
    if incident_id is None and alert["status"] == "pending":  # its incident is not open yet: open it first
        outcome = state.correlator.correlate(alert["id"])
        if outcome.incident_id is None:
            raise DependencyUnavailable("incident-management cannot take the alert's incident yet; retry the acknowledgement")
        incident_id = outcome.incident_id
    if incident_id is None:  # an alert that opens no incident
        return
    response = state.incidents.request(
        "PATCH",
        f"/api/v1/incidents/{incident_id}",
        json={"status": "acknowledged", "author": integration.name, "note": f"Acknowledged through the Events API ({dedup_key})"},
    )
    if response.status_code not in (200, 404, 409):  # 409: acknowledged or resolved already; 404: gone
        logger.warning("acknowledging incident %s answered %s", incident_id, response.status_code)
        raise DependencyUnavailable(f"incident-management refused the acknowledgement ({response.status_code}); retry")
