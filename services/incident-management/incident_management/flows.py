"""Multi-step incident operations: applying an update (status, note, reassignment) as one transaction,
and recording what another service did. (Opening incidents: opening.py.)"""

from uuid import UUID

from sqlalchemy import RowMapping
from sqlalchemy.orm import Session

from incident_management import service
from incident_management.lifecycle import Status
from incident_management.metrics import INCIDENT_MTTA, INCIDENT_MTTR
from incident_management.schemas import IncidentUpdate, TimelineEventCreate
from platform_common.clock import utcnow


def record_event(
    session: Session, *, incident_id: UUID, event: TimelineEventCreate, idempotency_key: str | None
) -> tuple[RowMapping, bool]:
    """Record what another service did (optionally reassigning); returns (event, created). A key already
    recorded on this incident returns its event and changes nothing."""
    now = utcnow()
    incident = service.get_or_raise(session, incident_id=incident_id, lock=True)  # serialises replays of one key
    if idempotency_key and (existing := service.get_event_by_key(session, incident_id=incident_id, key=idempotency_key)):
        session.rollback()
        return existing, False
    if event.assigned_to is not None:
        service.assign(session, incident=incident, assignee=event.assigned_to, actor=event.actor, now=now)
    row = service.add_event(
        session,
        incident_id=incident_id,
        kind=event.kind,
        actor=event.actor,
        message=event.message,
        data=event.data,
        now=now,
        idempotency_key=idempotency_key,
    )
    session.commit()
    return row, True


def update_incident(session: Session, *, incident_id, change: IncidentUpdate) -> RowMapping:
    now = utcnow()
    incident = service.get_or_raise(session, incident_id=incident_id, lock=True)
    was_acknowledged = incident["acknowledged_at"] is not None
    if change.assigned_to is not None:
        incident = service.assign(session, incident=incident, assignee=change.assigned_to, actor=change.author, now=now)
    if change.status is not None:
        incident = service.change_status(session, incident=incident, target=change.status, actor=change.author, now=now)
    if change.note_text is not None:
        service.add_note(session, incident_id=incident_id, author=change.author, body=change.note_text, now=now)
    session.commit()
    if not was_acknowledged and incident["mtta_seconds"] is not None:
        INCIDENT_MTTA.observe(incident["mtta_seconds"])
    if change.status == Status.RESOLVED and incident["mttr_seconds"] is not None and incident["resolved_at"] == now:
        INCIDENT_MTTR.observe(incident["mttr_seconds"])
    return service.get_or_raise(session, incident_id=incident_id)
