"""HTTP routes of alert-ingestion."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response, status

from alert_ingestion import intake, service
from alert_ingestion.schemas import AlertAccepted, AlertIn, AlertOut, CorrelationStatus, SeverityIn
from platform_common.auth.policy import INGEST, VIEWER, PrincipalDep, requires
from platform_common.db import ReadSessionDep
from platform_common.errors import ERROR_RESPONSES
from platform_common.pagination import TOTAL_COUNT_HEADER, KeysetPageDep
from platform_common.validation import Text

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


@router.post(
    "",
    dependencies=[requires(INGEST)],
    response_model=AlertAccepted,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": AlertAccepted,
            "description": "Nothing stored: a replay of an earlier request with the same Idempotency-Key, a repeat of a "
            "firing alert's dedup_key (counted on it), or a resolve by dedup_key",
        },
        404: {**ERROR_RESPONSES[404], "description": "Resolve: no alert has this dedup_key"},
        422: ERROR_RESPONSES[422],
        503: ERROR_RESPONSES[503],
    },
)
async def receive_alert(
    alert: AlertIn,
    request: Request,
    response: Response,
    principal: PrincipalDep,
    idempotency_key: Annotated[Text | None, Header(max_length=200)] = None,
) -> AlertAccepted:
    """Store an alert and correlate it: it joins the newest unresolved incident of the same service and
    severity opened within the correlation window, or opens a new one. If incident-management is down
    the alert is kept as `pending` and correlated once it is back. A retry with the same
    `Idempotency-Key` answers 200 with the alert already stored, as it is now, and stores nothing.
    With a `dedup_key`, a repeat while that alert fires answers 200 `"dedup": "repeat"` and is counted
    on it; `"status": "resolved"` resolves it (its incident is told once all its alerts are resolved)."""
    answer, response.status_code = await intake.receive(request.app.state, alert, principal=principal, idempotency_key=idempotency_key)
    return answer


@router.get("", dependencies=[requires(VIEWER)], response_model=list[AlertOut])
def list_alerts(
    session: ReadSessionDep,
    response: Response,
    page: KeysetPageDep,
    service_: Annotated[Text | None, Query(alias="service", max_length=200)] = None,
    severity: SeverityIn | None = None,
    incident_id: UUID | None = None,
    status_: Annotated[CorrelationStatus | None, Query(alias="status")] = None,
) -> list[AlertOut]:
    """Alerts, newest first, filtered by service, severity, incident and correlation status. A full page
    answers X-Next-Cursor: `cursor=<it>` is the next page, at any depth as fast as the first."""
    rows, total = service.list_(session, service=service_, severity=severity, incident_id=incident_id, status=status_, page=page)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return [AlertOut.model_validate(row) for row in rows]


@router.get("/{alert_id}", dependencies=[requires(VIEWER)], response_model=AlertOut, responses={404: ERROR_RESPONSES[404]})
def get_alert(alert_id: UUID, session: ReadSessionDep) -> AlertOut:
    """One alert with the incident it was correlated into."""
    return AlertOut.model_validate(service.get_or_raise(session, alert_id=alert_id))
