"""Incident data access: keyword-only functions over the `incident_management` tables.

Callers own the transaction: these functions never commit.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, func, insert, select, text, update
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from incident_management import lifecycle
from incident_management.lifecycle import Status
from incident_management.schemas import DETAIL_ALERTS, IncidentCreate
from incident_management.tables import incident_alerts, incidents, notes, pages, timeline
from platform_common.errors import Conflict, NotFound
from platform_common.pagination import Page, count_total, newest_first, set_next_cursor

SYSTEM_ACTOR = "incident-management"


def get_or_raise(session: Session, *, incident_id: UUID, lock: bool = False) -> RowMapping:
    query = select(incidents).where(incidents.c.id == incident_id)
    if lock:
        query = query.with_for_update()
    row = session.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"Incident {incident_id} not found")
    return row


def get_by_idempotency_key(session: Session, *, key: str) -> RowMapping | None:
    return session.execute(select(incidents).where(incidents.c.idempotency_key == key)).mappings().first()


def find_correlated(session: Session, *, service: str, severity: str, group_key: str | None, since: datetime) -> RowMapping | None:
    """The newest unresolved incident of this service, severity and alert group created at `since` or later."""
    return (
        session.execute(
            select(incidents)
            .where(incidents.c.service == service, incidents.c.severity == severity, incidents.c.status != Status.RESOLVED)
            .where(incidents.c.group_key.is_not_distinct_from(group_key))
            .where(incidents.c.created_at >= since)
            .order_by(incidents.c.created_at.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )


def create(session: Session, *, data: IncidentCreate, assigned_to: str | None, idempotency_key: str | None, now: datetime) -> RowMapping:
    row = (
        session.execute(
            insert(incidents)
            .values(
                title=data.title,
                service=data.service,
                severity=data.severity,
                status=Status.OPEN,
                assigned_to=assigned_to,
                created_at=now,
                updated_at=now,
                idempotency_key=idempotency_key,
                group_key=data.group_key,
            )
            .returning(incidents)
        )
        .mappings()
        .one()
    )
    add_event(
        session,
        incident_id=row["id"],
        kind="created",
        actor=SYSTEM_ACTOR,
        message=f"Incident opened: {data.title}",
        data={"severity": data.severity, "service": data.service},
        now=now,
    )
    return row


def list_(
    session: Session, *, status: Status | None, severity: str | None, service: str | None, page: Page
) -> tuple[list[RowMapping], int]:
    filters = []
    if status is not None:
        filters.append(incidents.c.status == status)
    if severity is not None:
        filters.append(incidents.c.severity == severity)
    if service is not None:
        filters.append(incidents.c.service == service)
    total = count_total(session, select(incidents).where(*filters), page)
    rows = (
        session.execute(newest_first(select(incidents).where(*filters), page, at=incidents.c.created_at, id_=incidents.c.id))
        .mappings()
        .all()
    )
    set_next_cursor(page, rows, at="created_at", id_="id")
    return list(rows), total


def change_status(session: Session, *, incident: RowMapping, target: Status, actor: str, now: datetime) -> RowMapping:
    try:
        updates = lifecycle.transition(dict(incident), target, now)
    except lifecycle.IllegalTransition as exc:
        raise Conflict(str(exc)) from exc
    if not updates:
        return incident
    row = session.execute(update(incidents).where(incidents.c.id == incident["id"]).values(**updates).returning(incidents)).mappings().one()
    kind = lifecycle.event_kind(Status(incident["status"]), target)
    data: dict[str, Any] = {"from": incident["status"], "to": str(target)}
    for measure in ("mtta_seconds", "mttr_seconds"):
        if updates.get(measure) is not None:
            data[measure] = updates[measure]
    add_event(
        session, incident_id=incident["id"], kind=kind, actor=actor, message=f"Status {incident['status']} → {target}", data=data, now=now
    )
    return row


def assign(session: Session, *, incident: RowMapping, assignee: str, actor: str, now: datetime, kind: str = "assigned") -> RowMapping:
    if incident["assigned_to"] == assignee:
        return incident
    row = (
        session.execute(
            update(incidents).where(incidents.c.id == incident["id"]).values(assigned_to=assignee, updated_at=now).returning(incidents)
        )
        .mappings()
        .one()
    )
    add_event(
        session,
        incident_id=incident["id"],
        kind=kind,
        actor=actor,
        message=f"Assigned to {assignee}",
        data={"from": incident["assigned_to"], "to": assignee},
        now=now,
    )
    return row


def add_note(session: Session, *, incident_id: UUID, author: str, body: str, now: datetime) -> RowMapping:
    row = (
        session.execute(insert(notes).values(incident_id=incident_id, author=author, body=body, created_at=now).returning(notes))
        .mappings()
        .one()
    )
    add_event(session, incident_id=incident_id, kind="note", actor=author, message=body, data={"note_id": str(row["id"])}, now=now)
    session.execute(update(incidents).where(incidents.c.id == incident_id).values(updated_at=now))
    return row


def add_event(
    session: Session,
    *,
    incident_id: UUID,
    kind: str,
    actor: str,
    message: str,
    data: dict[str, Any],
    now: datetime,
    idempotency_key: str | None = None,
) -> RowMapping:
    return (
        session.execute(
            insert(timeline)
            .values(
                incident_id=incident_id, kind=kind, actor=actor, message=message, data=data, created_at=now, idempotency_key=idempotency_key
            )
            .returning(timeline)
        )
        .mappings()
        .one()
    )


def get_event_by_key(session: Session, *, incident_id: UUID, key: str) -> RowMapping | None:
    return (
        session.execute(select(timeline).where(timeline.c.incident_id == incident_id, timeline.c.idempotency_key == key)).mappings().first()
    )


def queue_page(session: Session, *, incident_id: UUID, recipient: str | None, reason: str, now: datetime) -> None:
    session.execute(
        insert(pages).values(
            incident_id=incident_id, recipient=recipient, reason=reason, status="pending", next_attempt_at=now, created_at=now
        )
    )


def detail(session: Session, *, incident_id: UUID) -> dict[str, Any]:
    incident = get_or_raise(session, incident_id=incident_id)
    alerts, alerts_total = linked_alerts(session, incident_id=incident_id)
    note_rows = session.execute(select(notes).where(notes.c.incident_id == incident_id).order_by(notes.c.created_at)).mappings().all()
    events = session.execute(select(timeline).where(timeline.c.incident_id == incident_id).order_by(timeline.c.seq)).mappings().all()
    return {**incident, "alerts": alerts, "alerts_total": alerts_total, "notes": note_rows, "timeline": events}


def linked_alerts(session: Session, *, incident_id: UUID) -> tuple[list[RowMapping], int]:
    """The incident's newest `DETAIL_ALERTS` alerts, oldest first, and how many it has (counted up to the
    pagination cap), read from the view alert-ingestion publishes (none before it first ran)."""
    linked = select(incident_alerts).where(incident_alerts.c.incident_id == incident_id)
    newest = linked.order_by(incident_alerts.c.received_at.desc(), incident_alerts.c.alert_id).limit(DETAIL_ALERTS)
    try:
        with session.begin_nested():
            rows = session.execute(newest).mappings().all()
            total = len(rows) if len(rows) < DETAIL_ALERTS else count_total(session, linked, Page(limit=DETAIL_ALERTS, offset=0))
    except ProgrammingError:
        return [], 0
    return list(reversed(rows)), total


def governing_policy(session: Session, *, team: str) -> str | None:
    """The name of the escalation policy governing the team, read from the view oncall-service publishes
    (None without one, or before oncall-service first ran)."""
    try:
        with session.begin_nested():
            return session.execute(text("SELECT policy_name FROM oncall.governed_teams WHERE team = :team"), {"team": team}).scalar()
    except ProgrammingError:
        return None


def events(session: Session, *, incident_id: UUID) -> list[RowMapping]:
    get_or_raise(session, incident_id=incident_id)
    return list(session.execute(select(timeline).where(timeline.c.incident_id == incident_id).order_by(timeline.c.seq)).mappings().all())


def summary(session: Session) -> dict[str, Any]:
    """Counts by status, unresolved counts by severity, mean MTTA / MTTR: one pass over the incidents,
    grouped by (status, severity), so the dashboard's poll reads the table once, not three times."""
    groups = session.execute(
        select(
            incidents.c.status,
            incidents.c.severity,
            func.count(),
            func.sum(incidents.c.mtta_seconds),
            func.count(incidents.c.mtta_seconds),
            func.sum(incidents.c.mttr_seconds),
            func.count(incidents.c.mttr_seconds),
        ).group_by(incidents.c.status, incidents.c.severity)
    ).all()
    by_status = {str(status): 0 for status in Status}
    open_by_severity = dict.fromkeys(("critical", "high", "medium", "low"), 0)
    mtta_sum = mttr_sum = 0.0
    mtta_count = mttr_count = 0
    for status, severity, count, mtta_total, mtta_n, mttr_total, mttr_n in groups:
        by_status[status] = by_status.get(status, 0) + count
        if status != Status.RESOLVED and severity in open_by_severity:
            open_by_severity[severity] += count
        mtta_sum, mtta_count = mtta_sum + (mtta_total or 0), mtta_count + mtta_n
        mttr_sum, mttr_count = mttr_sum + (mttr_total or 0), mttr_count + mttr_n
    return {
        "by_status": by_status,
        "open_by_severity": open_by_severity,
        "mtta_avg_seconds": mtta_sum / mtta_count if mtta_count else None,
        "mttr_avg_seconds": mttr_sum / mttr_count if mttr_count else None,
    }
