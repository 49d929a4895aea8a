"""Webhook receivers for Prometheus Alertmanager and Grafana unified alerting."""

import asyncio
from functools import partial
from typing import Any
from uuid import UUID

from anyio import to_thread
from fastapi import APIRouter, Request
from pydantic import BaseModel

from alert_ingestion.metrics import ALERTS_DEDUPLICATED, ALERTS_RESOLVED, count_received
from alert_ingestion.resolution import mark_resolved
from alert_ingestion.schemas import AlertAccepted
from alert_ingestion.sources import WebhookAlert, WebhookPayload, fingerprint, to_alert
from platform_common.auth.policy import INGEST, PrincipalDep, requires
from platform_common.auth.principal import Principal
from platform_common.clock import utcnow
from platform_common.errors import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1/alerts", tags=["alert sources"])


class WebhookResult(BaseModel):
    accepted: list[AlertAccepted]
    duplicates: int
    resolved: int


async def _receive(request: Request, payload: WebhookPayload, source: str, principal: Principal) -> WebhookResult:
    """Every alert of the payload at once (a group of new services opens its incidents in one batch)."""
    state = request.app.state
    integration_id = principal.id if principal.kind == "integration" else None  # for per-integration routing rules
    outcomes = await asyncio.gather(*(_one(state, item, source, integration_id) for item in payload.alerts))
    accepted = [outcome for outcome in outcomes if isinstance(outcome, AlertAccepted)]
    duplicates = sum(outcome is None for outcome in outcomes)
    resolved = sum(outcome for outcome in outcomes if isinstance(outcome, int))
    if resolved:
        state.resolution_worker.wake()
    return WebhookResult(accepted=accepted, duplicates=duplicates, resolved=resolved)


async def _one(state: Any, item: WebhookAlert, source: str, integration_id: UUID | None) -> AlertAccepted | int | None:
    """One alert of a payload: the alert accepted, how many stored alerts it resolved, or None (a duplicate)."""
    key = fingerprint(item)
    if item.status == "resolved":
        ended = item.endsAt if item.endsAt and item.endsAt.year > 1 else utcnow()
        resolve = partial(mark_resolved, state.engine, source=source, fingerprint=key, resolved_at=ended)
        changed = await to_thread.run_sync(resolve)
        ALERTS_RESOLVED.labels(source).inc(changed)
        return changed
    alert = to_alert(item)
    outcome = await state.correlator.ingest(alert, source=source, fingerprint=key, integration_id=integration_id)
    if outcome is None:
        ALERTS_DEDUPLICATED.labels(source).inc()
        return None
    count_received(alert)
    return AlertAccepted(alert_id=outcome.alert_id, incident_id=outcome.incident_id, status=outcome.status, action=outcome.action)


@router.post("/alertmanager", dependencies=[requires(INGEST)], response_model=WebhookResult, responses={422: ERROR_RESPONSES[422]})
async def alertmanager_webhook(payload: WebhookPayload, request: Request, principal: PrincipalDep) -> WebhookResult:
    """Prometheus Alertmanager `webhook_configs` receiver (payload version 4)."""
    return await _receive(request, payload, "alertmanager", principal)


@router.post("/grafana", dependencies=[requires(INGEST)], response_model=WebhookResult, responses={422: ERROR_RESPONSES[422]})
async def grafana_webhook(payload: WebhookPayload, request: Request, principal: PrincipalDep) -> WebhookResult:
    """Grafana unified-alerting webhook contact point (payload version 1)."""
    return await _receive(request, payload, "grafana", principal)
