"""The generic alert API's intake (POST /api/v1/alerts): a new alert, a client's retry (Idempotency-Key),
a repeat of a firing alert's dedup_key, or a resolve by dedup_key (dedup.py)."""

from typing import Any
from uuid import UUID

from fastapi import status

from alert_ingestion import dedup
from alert_ingestion.metrics import ALERTS_DEDUPLICATED, count_received
from alert_ingestion.schemas import AlertAccepted, AlertIn
from platform_common.auth.principal import Principal
from platform_common.errors import NotFound

SOURCE = "api"


async def receive(state: Any, alert: AlertIn, *, principal: Principal, idempotency_key: str | None) -> tuple[AlertAccepted, int]:
    """The answer and its status: 201 for a stored alert, 200 for a replay, a repeat or a resolve."""
    integration_id = principal.id if principal.kind == "integration" else None  # dedup keys are per integration
    if alert.status == "resolved":
        return await _resolve(state, alert.dedup_key, integration_id), status.HTTP_200_OK
    if alert.dedup_key is None:
        # no fingerprint: never a duplicate; the integration for its routing rules
        outcome = await state.correlator.ingest(alert, idempotency_key=idempotency_key, integration_id=integration_id)
    else:
        outcome = await dedup.ingest(
            state.correlator,
            alert,
            source=SOURCE,
            dedup_key=alert.dedup_key,
            integration_id=integration_id,
            idempotency_key=idempotency_key,
        )
    if outcome.deduplicated:
        ALERTS_DEDUPLICATED.labels(SOURCE).inc()
    elif not outcome.replayed:
        count_received(alert)
    answer = AlertAccepted(
        alert_id=outcome.alert_id,
        incident_id=outcome.incident_id,
        status=outcome.status,
        action=outcome.action,
        dedup_key=alert.dedup_key,
        dedup="repeat" if outcome.deduplicated else "new_alert",
    )
    stored = not (outcome.replayed or outcome.deduplicated)
    return answer, status.HTTP_201_CREATED if stored else status.HTTP_200_OK


async def _resolve(state: Any, dedup_key: str, integration_id: UUID | None) -> AlertAccepted:
    row = await dedup.resolve_and_report(state, source=SOURCE, integration_id=integration_id, dedup_key=dedup_key)
    if row is None:
        raise NotFound(f"No alert has the dedup_key {dedup_key!r}")
    return AlertAccepted(
        alert_id=row["id"],
        incident_id=row["incident_id"],
        status=row["status"],
        action=row["action"] or "queued",
        dedup_key=dedup_key,
        dedup="resolved",
    )
