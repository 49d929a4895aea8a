"""HTTP routes of incident-management: thin handlers over `flows` and `service`."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response, status
from pydantic import BaseModel

from incident_management import flows, service
from incident_management.lifecycle import Status
from incident_management.opening import Opened, Opening, OpenRequest, open_incidents
from incident_management.schemas import (
    IncidentBatch,
    IncidentCreate,
    IncidentDetail,
    IncidentMetrics,
    IncidentOpened,
    IncidentOut,
    IncidentSummary,
    IncidentUpdate,
    NoteCreate,
    NoteOut,
    SeverityIn,
    TimelineEventCreate,
    TimelineEventOut,
)
from platform_common.auth.policy import INTERNAL, RESPONDER, VIEWER, PrincipalDep, requires
from platform_common.clock import utcnow
from platform_common.db import ReadSessionDep, SessionDep
from platform_common.errors import ERROR_RESPONSES
from platform_common.pagination import TOTAL_COUNT_HEADER, KeysetPageDep
from platform_common.validation import Text


def _claimed(body: BaseModel, field: str) -> str | None:
    """A name the caller gave in the body (only anonymous and service callers may name the actor)."""
    return getattr(body, field) if field in body.model_fields_set else None


router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
CORRELATION_ACTION_HEADER = "Correlation-Action"
_404 = {404: ERROR_RESPONSES[404]}


@router.post(
    "",
    dependencies=[requires(RESPONDER)],
    response_model=IncidentOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": IncidentOut,
            "description": "Replay of an earlier request with the same Idempotency-Key, or the correlated incident joined",
            "headers": {
                CORRELATION_ACTION_HEADER: {"description": "with correlation_window_seconds: new_incident | attached_to_existing_incident"}
            },
        }
    },
)
def create_incident(
    data: IncidentCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    idempotency_key: Annotated[Text | None, Header(max_length=200)] = None,
) -> IncidentOut:
    """Open an incident, assign the team's on-call primary (when none is given) and page them. With
    `correlation_window_seconds`, join the newest unresolved incident of the same service and severity
    opened within that window instead (the `Correlation-Action` header says which happened)."""
    ((incident, opening),) = _open(request, session, [OpenRequest(data, idempotency_key)])
    if opening != Opening.CREATED:
        response.status_code = status.HTTP_200_OK
    if data.correlation_window_seconds is not None:
        response.headers[CORRELATION_ACTION_HEADER] = _correlation_action(opening)
    return IncidentOut.model_validate(incident)


@router.post("/batch", dependencies=[requires(INTERNAL)], response_model=list[IncidentOpened])
def open_batch(batch: IncidentBatch, request: Request, session: SessionDep) -> list[IncidentOpened]:
    """Open up to 100 incidents at once (alert-ingestion's new alerts): each item is decided exactly as
    `POST /api/v1/incidents` with its `idempotency_key` would be, in order; `action` is its
    Correlation-Action (new_incident | attached_to_existing_incident) and `replayed` says it was a replay."""
    requests = [OpenRequest(item, item.idempotency_key) for item in batch.incidents]
    return [
        IncidentOpened(
            incident=IncidentOut.model_validate(incident), action=_correlation_action(opening), replayed=opening == Opening.REPLAYED
        )
        for incident, opening in _open(request, session, requests)
    ]


def _open(request: Request, session: SessionDep, requests: list[OpenRequest]) -> list[Opened]:
    opened = open_incidents(session, requests, oncall=request.app.state.oncall, lookups=request.app.state.lookups)
    if any(opening == Opening.CREATED for _, opening in opened):
        request.app.state.pagers.wake()
    return opened


def _correlation_action(opening: Opening) -> str:
    """A replay answers new_incident, as the request it repeats did (or joined: that is not recorded)."""
    return Opening.JOINED if opening == Opening.JOINED else Opening.CREATED


@router.get("", dependencies=[requires(VIEWER)], response_model=list[IncidentOut])
def list_incidents(
    session: ReadSessionDep,
    response: Response,
    page: KeysetPageDep,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    severity: SeverityIn | None = None,
    service_: Annotated[Text | None, Query(alias="service", max_length=200)] = None,
) -> list[IncidentOut]:
    """Incidents, newest first, filtered by status, severity and service; total in X-Total-Count. A full
    page answers X-Next-Cursor: `cursor=<it>` is the next page, at any depth as fast as the first."""
    rows, total = service.list_(session, status=status_, severity=severity, service=service_, page=page)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return [IncidentOut.model_validate(row) for row in rows]


@router.get("/summary", dependencies=[requires(VIEWER)], response_model=IncidentSummary)
def incident_summary(session: ReadSessionDep) -> IncidentSummary:
    """Counts by status, open incidents by severity, mean MTTA / MTTR."""
    return IncidentSummary.model_validate(service.summary(session))


@router.get("/{incident_id}", dependencies=[requires(VIEWER)], response_model=IncidentDetail, responses=_404)
def get_incident(incident_id: UUID, session: ReadSessionDep) -> IncidentDetail:
    """The incident with its linked alerts, notes, timeline and MTTA / MTTR."""
    return IncidentDetail.model_validate(service.detail(session, incident_id=incident_id))


@router.patch(
    "/{incident_id}", dependencies=[requires(RESPONDER)], response_model=IncidentOut, responses={**_404, 409: ERROR_RESPONSES[409]}
)
def update_incident(incident_id: UUID, change: IncidentUpdate, principal: PrincipalDep, session: SessionDep) -> IncidentOut:
    """Change status (open → acknowledged → in_progress → resolved; resolved → open reopens), add a note, reassign.
    The timeline names the authenticated caller (`author` counts only for anonymous and service callers)."""
    change = change.model_copy(update={"author": principal.actor(_claimed(change, "author"))})
    return IncidentOut.model_validate(flows.update_incident(session, incident_id=incident_id, change=change))


@router.get("/{incident_id}/metrics", dependencies=[requires(VIEWER)], response_model=IncidentMetrics, responses=_404)
def incident_metrics(incident_id: UUID, session: ReadSessionDep) -> IncidentMetrics:
    incident = service.get_or_raise(session, incident_id=incident_id)
    return IncidentMetrics.model_validate({**incident, "incident_id": incident["id"]})


@router.post(
    "/{incident_id}/notes", dependencies=[requires(RESPONDER)], response_model=NoteOut, status_code=status.HTTP_201_CREATED, responses=_404
)
def add_note(incident_id: UUID, note: NoteCreate, principal: PrincipalDep, session: SessionDep) -> NoteOut:
    note = note.model_copy(update={"author": principal.actor(_claimed(note, "author"))})
    service.get_or_raise(session, incident_id=incident_id, lock=True)
    row = service.add_note(session, incident_id=incident_id, author=note.author, body=note.body, now=utcnow())
    session.commit()
    return NoteOut.model_validate(row)


@router.get("/{incident_id}/timeline", dependencies=[requires(VIEWER)], response_model=list[TimelineEventOut], responses=_404)
def get_timeline(incident_id: UUID, session: ReadSessionDep) -> list[TimelineEventOut]:
    return [TimelineEventOut.model_validate(row) for row in service.events(session, incident_id=incident_id)]


@router.post(
    "/{incident_id}/timeline",
    dependencies=[requires(INTERNAL)],
    response_model=TimelineEventOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_404, 200: {"model": TimelineEventOut, "description": "Replay of an event recorded with the same Idempotency-Key"}},
)
def record_event(
    incident_id: UUID,
    event: TimelineEventCreate,
    principal: PrincipalDep,
    response: Response,
    session: SessionDep,
    idempotency_key: Annotated[Text | None, Header(max_length=200)] = None,
) -> TimelineEventOut:
    """Record what another service did to the incident (escalation, page); optionally reassign it.
    An `Idempotency-Key` already recorded on this incident answers 200 with that event, changing nothing."""
    event = event.model_copy(update={"actor": principal.actor(event.actor)})
    row, created = flows.record_event(session, incident_id=incident_id, event=event, idempotency_key=idempotency_key)
    if not created:
        response.status_code = status.HTTP_200_OK
    return TimelineEventOut.model_validate(row)
