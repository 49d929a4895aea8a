"""Multi-step incident operations with side effects: opening an incident (find the on-call, queue
the page) and applying an update (status, note, reassignment) as one transaction."""

from sqlalchemy import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from incident_management import service
from incident_management.lifecycle import Status
from incident_management.metrics import INCIDENT_MTTA, INCIDENT_MTTR, INCIDENTS_CREATED
from incident_management.paging import lookup_primary
from incident_management.schemas import IncidentCreate, IncidentUpdate
from platform_common.clock import utcnow
from platform_common.http import PeerUnavailable, ServiceClient


def open_incident(session: Session, *, data: IncidentCreate, idempotency_key: str | None, oncall: ServiceClient) -> tuple[RowMapping, bool]:
    """Create the incident, assign the on-call primary and queue their page. Returns (incident, created)."""
    if idempotency_key and (existing := service.get_by_idempotency_key(session, key=idempotency_key)):
        return existing, False
    assignee, recipient, oncall_down = data.assigned_to, data.assigned_to, False
    if assignee is None:
        try:
            primary = lookup_primary(oncall, data.service)
        except PeerUnavailable:
            primary, oncall_down = None, True
        if primary is not None:
            assignee, recipient = primary.name, primary.address
    now = utcnow()
    try:
        incident = service.create(session, data=data, assigned_to=assignee, idempotency_key=idempotency_key, now=now)
    except IntegrityError:  # the same idempotency key won a race in another request
        session.rollback()
        return service.get_by_idempotency_key(session, key=idempotency_key or ""), False
    if assignee is not None:
        service.add_event(
            session,
            incident_id=incident["id"],
            kind="assigned",
            actor=service.SYSTEM_ACTOR,
            message=f"Assigned to {assignee}",
            data={"to": assignee},
            now=now,
        )
    if assignee is not None or oncall_down:
        # With oncall-service down the pager finds the assignee once it is back.
        service.queue_page(session, incident_id=incident["id"], recipient=recipient, reason="new_incident", now=now)
    else:
        service.add_event(
            session,
            incident_id=incident["id"],
            kind="page_skipped",
            actor=service.SYSTEM_ACTOR,
            message=f"Nobody paged: team {data.service} has no on-call schedule",
            data={},
            now=now,
        )
    session.commit()
    INCIDENTS_CREATED.labels(data.service, str(data.severity)).inc()
    return incident, True


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
