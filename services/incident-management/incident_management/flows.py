"""Multi-step incident operations with side effects: opening an incident (find the on-call, queue
the page), applying an update (status, note, reassignment) as one transaction, and recording what
another service did.

No transaction is open while a peer is asked anything: opening an incident reads (replay, correlation)
in one short transaction, asks oncall-service with no connection held, then writes in a second one.
"""

from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from sqlalchemy import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from incident_management import service
from incident_management.lifecycle import Status
from incident_management.metrics import INCIDENT_MTTA, INCIDENT_MTTR, count_created
from incident_management.paging import OnCall, lookup_primary
from incident_management.schemas import IncidentCreate, IncidentUpdate, TimelineEventCreate
from platform_common.clock import utcnow
from platform_common.db import advisory_xact_lock
from platform_common.http import PeerUnavailable, ServiceClient


class Opening(StrEnum):
    """What `open_incident` did. The values of the first two are the correlation actions callers report."""

    CREATED = "new_incident"
    JOINED = "attached_to_existing_incident"
    REPLAYED = "replayed"


def _correlation_lock_key(data: IncidentCreate) -> str:
    return f"correlate:{data.service}\x1f{data.severity}\x1f{data.group_key or ''}"


def _existing(session: Session, *, data: IncidentCreate, idempotency_key: str | None, now: datetime) -> tuple[RowMapping, Opening] | None:
    """The incident this request already stands for: an earlier request with its key, or (when it asks
    for correlation) the newest unresolved incident of its service and severity within the window."""
    if idempotency_key and (incident := service.get_by_idempotency_key(session, key=idempotency_key)):
        return incident, Opening.REPLAYED
    if data.correlation_window_seconds is not None:
        since = now - timedelta(seconds=data.correlation_window_seconds)
        if incident := service.find_correlated(
            session, service=data.service, severity=data.severity, group_key=data.group_key, since=since
        ):
            return incident, Opening.JOINED
    return None


def _on_call(oncall: ServiceClient, team: str) -> tuple[OnCall | None, bool]:
    """The team's primary and whether oncall-service was down (then the pager finds them later)."""
    try:
        return lookup_primary(oncall, team), False
    except PeerUnavailable:
        return None, True


def open_incident(
    session: Session, *, data: IncidentCreate, idempotency_key: str | None, oncall: ServiceClient
) -> tuple[RowMapping, Opening]:
    """Create the incident, assign the on-call primary and queue their page, unless the request is a
    replay or joins a correlated incident. With a correlation window the find-or-open decision is taken
    under a per-(service, severity, group) advisory lock, so concurrent callers on any replica open one incident."""
    found = _existing(session, data=data, idempotency_key=idempotency_key, now=utcnow())
    # A team governed by an escalation policy is paged by oncall-service (the policy's step 1, at once).
    policy = None if found or data.assigned_to is not None else service.governing_policy(session, team=data.service)
    session.rollback()  # nothing written: give the connection back before asking oncall-service
    if found is not None:
        return found
    primary, oncall_down = (None, False) if data.assigned_to is not None or policy else _on_call(oncall, data.service)
    assignee = data.assigned_to or (primary.name if primary else None)
    recipient = data.assigned_to or (primary.address if primary else None)
    now = utcnow()
    if data.correlation_window_seconds is not None:
        advisory_xact_lock(session, _correlation_lock_key(data))
    if (found := _existing(session, data=data, idempotency_key=idempotency_key, now=now)) is not None:
        session.rollback()  # another request opened it while oncall-service was asked
        return found
    try:
        incident = service.create(session, data=data, assigned_to=assignee, idempotency_key=idempotency_key, now=now)
    except IntegrityError:  # the same idempotency key won a race in another request
        session.rollback()
        return service.get_by_idempotency_key(session, key=idempotency_key or ""), Opening.REPLAYED
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
    elif policy is not None:
        service.add_event(
            session,
            incident_id=incident["id"],
            kind="paging_by_policy",
            actor=service.SYSTEM_ACTOR,
            message=f"Escalation policy '{policy}' pages this incident (its step 1 instead of the on-call primary)",
            data={"policy": policy},
            now=now,
        )
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
    count_created(data.service, str(data.severity))
    return incident, Opening.CREATED


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
