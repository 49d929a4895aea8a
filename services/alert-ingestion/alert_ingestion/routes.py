"""HTTP routes of alert-ingestion."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status

from alert_ingestion import service
from alert_ingestion.metrics import ALERTS_BY_SERVICE, ALERTS_RECEIVED
from alert_ingestion.schemas import AlertAccepted, AlertIn, AlertOut, CorrelationStatus, SeverityIn
from platform_common.db import SessionDep
from platform_common.errors import ERROR_RESPONSES
from platform_common.pagination import TOTAL_COUNT_HEADER, PageDep
from platform_common.validation import Text

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


@router.post("", response_model=AlertAccepted, status_code=status.HTTP_201_CREATED, responses={422: ERROR_RESPONSES[422]})
async def receive_alert(alert: AlertIn, request: Request) -> AlertAccepted:
    """Store an alert and correlate it: it joins the newest unresolved incident of the same service and
    severity opened within the correlation window, or opens a new one. If incident-management is down
    the alert is kept as `pending` and correlated once it is back."""
    outcome = await request.app.state.correlator.ingest(alert)  # no fingerprint: never a duplicate
    ALERTS_RECEIVED.labels(str(alert.severity)).inc()
    ALERTS_BY_SERVICE.labels(alert.service).inc()
    return AlertAccepted(alert_id=outcome.alert_id, incident_id=outcome.incident_id, status=outcome.status, action=outcome.action)


@router.get("", response_model=list[AlertOut])
def list_alerts(
    session: SessionDep,
    response: Response,
    page: PageDep,
    service_: Annotated[Text | None, Query(alias="service", max_length=200)] = None,
    severity: SeverityIn | None = None,
    incident_id: UUID | None = None,
    status_: Annotated[CorrelationStatus | None, Query(alias="status")] = None,
) -> list[AlertOut]:
    """Alerts, newest first, filtered by service, severity, incident and correlation status."""
    rows, total = service.list_(session, service=service_, severity=severity, incident_id=incident_id, status=status_, page=page)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return [AlertOut.model_validate(row) for row in rows]


@router.get("/{alert_id}", response_model=AlertOut, responses={404: ERROR_RESPONSES[404]})
def get_alert(alert_id: UUID, session: SessionDep) -> AlertOut:
    """One alert with the incident it was correlated into."""
    return AlertOut.model_validate(service.get_or_raise(session, alert_id=alert_id))
