"""Webhook receivers for Prometheus Alertmanager and Grafana unified alerting."""

from functools import partial

from anyio import to_thread
from fastapi import APIRouter, Request
from pydantic import BaseModel

from alert_ingestion.metrics import ALERTS_DEDUPLICATED, ALERTS_RESOLVED, count_received
from alert_ingestion.resolution import mark_resolved
from alert_ingestion.schemas import AlertAccepted
from alert_ingestion.sources import WebhookPayload, fingerprint, to_alert
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
    state = request.app.state
    integration_id = principal.id if principal.kind == "integration" else None  # for per-integration routing rules
    accepted, duplicates, resolved = [], 0, 0
    for item in payload.alerts:
        key = fingerprint(item)
        if item.status == "resolved":
            ended = item.endsAt if item.endsAt and item.endsAt.year > 1 else utcnow()
            resolve = partial(mark_resolved, state.engine, source=source, fingerprint=key, resolved_at=ended)
            changed = await to_thread.run_sync(resolve)
            resolved += changed
            ALERTS_RESOLVED.labels(source).inc(changed)
            continue
        alert = to_alert(item)
        outcome = await state.correlator.ingest(alert, source=source, fingerprint=key, integration_id=integration_id)
        if outcome is None:
            duplicates += 1
            ALERTS_DEDUPLICATED.labels(source).inc()
            continue
        count_received(alert)
        accepted.append(
            AlertAccepted(alert_id=outcome.alert_id, incident_id=outcome.incident_id, status=outcome.status, action=outcome.action)
        )
    if resolved:
        state.resolution_worker.wake()
    return WebhookResult(accepted=accepted, duplicates=duplicates, resolved=resolved)


@router.post("/alertmanager", dependencies=[requires(INGEST)], response_model=WebhookResult, responses={422: ERROR_RESPONSES[422]})
async def alertmanager_webhook(payload: WebhookPayload, request: Request, principal: PrincipalDep) -> WebhookResult:
    """Prometheus Alertmanager `webhook_configs` receiver (payload version 4)."""
    return await _receive(request, payload, "alertmanager", principal)


@router.post("/grafana", dependencies=[requires(INGEST)], response_model=WebhookResult, responses={422: ERROR_RESPONSES[422]})
async def grafana_webhook(payload: WebhookPayload, request: Request, principal: PrincipalDep) -> WebhookResult:
    """Grafana unified-alerting webhook contact point (payload version 1)."""
    return await _receive(request, payload, "grafana", principal)
