"""Incident data access: keyword-only functions over the `incident_management` tables.

Callers own the transaction: these functions never commit.
"""

import json
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import RowMapping, String, and_, insert, select, text, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from incident_management import counts, lifecycle
from incident_management.lifecycle import Status
from incident_management.schemas import DETAIL_ALERTS, IncidentCreate
from incident_management.tables import incident_alerts, incidents, notes, pages, timeline
from platform_common import arrays
from platform_common.errors import Conflict, NotFound
from platform_common.pagination import Page, count_total, newest_first, set_next_cursor

SYSTEM_ACTOR = "incident-management"
# Rows written in batches, each one statement however many rows (platform_common.arrays).
_OPENED = ("id", "title", "service", "severity", "status", "assigned_to", "created_at", "updated_at", "idempotency_key", "group_key")
_OPENING = arrays.insert_from(incidents, _OPENED, name="opened").returning(incidents)
_EVENT = ("incident_id", "kind", "actor", "message", "data", "created_at")
_ADDING_EVENTS = arrays.insert_from(timeline, _EVENT, name="event", json={"data"})
_PAGE = ("incident_id", "recipient", "reason", "status", "next_attempt_at", "created_at")
_QUEUEING_PAGES = arrays.insert_from(pages, _PAGE, name="page")
# (service, severity) pairs as two arrays: one statement however many pairs, each looked up through the
# correlation index (a row IN list of pairs became a filter over every recent incident of a severity).
_WANTED = arrays.unnest("wanted", {"service": String(), "severity": String()})


def get_or_raise(session: Session, *, incident_id: UUID, lock: bool = False) -> RowMapping:
    query = select(incidents).where(incidents.c.id == incident_id)
    if lock:
        query = query.with_for_update()
    row = session.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"Incident {incident_id} not found")
    return row


def get_many(session: Session, *, ids: set[UUID]) -> dict[UUID, RowMapping]:
    """These incidents, by id (one statement)."""
    return {row["id"]: row for row in session.execute(select(incidents).where(incidents.c.id.in_(ids))).mappings()}


def get_by_idempotency_keys(session: Session, *, keys: set[str]) -> dict[str, RowMapping]:
    """The incidents opened with these idempotency keys, by key."""
    if not keys:
        return {}
    rows = session.execute(select(incidents).where(incidents.c.idempotency_key.in_(keys))).mappings()
    return {row["idempotency_key"]: row for row in rows}


def newest_unresolved(
    session: Session, *, groups: set[tuple[str, str, str | None]], since: datetime
) -> dict[tuple[str, str, str | None], RowMapping]:
    """The newest unresolved incident opened at `since` or later of each (service, severity, alert
    group), by group (one statement)."""
    if not groups:
        return {}
    group = (incidents.c.service, incidents.c.severity, incidents.c.group_key)
    pairs = sorted({(service, severity) for service, severity, _ in groups})
    rows = session.execute(
        select(incidents)
        .join(_WANTED, and_(incidents.c.service == _WANTED.c.service, incidents.c.severity == _WANTED.c.severity))
        .where(incidents.c.status != Status.RESOLVED, incidents.c.created_at >= since)
        .ext(distinct_on(*group))
        .order_by(*group, incidents.c.created_at.desc()),
        {"wanted_service": [service for service, _ in pairs], "wanted_severity": [severity for _, severity in pairs]},
    ).mappings()
    newest = {(row["service"], row["severity"], row["group_key"]): row for row in rows}
    return {key: newest[key] for key in groups if key in newest}


def create_many(session: Session, opening: list[tuple[IncidentCreate, str | None, str | None]], *, now: datetime) -> list[RowMapping]:
    """Open incidents, each (data, assignee, idempotency key), with their `created` events, in order."""
    if not opening:
        return []
    # Ids given, not the server's default, so one INSERT stores them all (RETURNING in no given order).
    values = [
        {
            "id": uuid4(),
            "title": data.title,
            "service": data.service,
            "severity": data.severity,
            "status": Status.OPEN,
            "assigned_to": assigned_to,
            "created_at": now,
            "updated_at": now,
            "idempotency_key": idempotency_key,
            "group_key": data.group_key,
        }
        for data, assigned_to, idempotency_key in opening
    ]
    stored = {row["id"]: row for row in session.execute(_OPENING, arrays.parameters("opened", values, _OPENED)).mappings()}
    rows = [stored[value["id"]] for value in values]
    created = [
        {
            "incident_id": row["id"],
            "kind": "created",
            "actor": SYSTEM_ACTOR,
            "message": f"Incident opened: {data.title}",
            "data": {"severity": data.severity, "service": data.service},
        }
        for row, (data, _, _) in zip(rows, opening, strict=True)
    ]
    add_events(session, created, now=now)
    return rows


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


def add_events(session: Session, events: list[dict[str, Any]], *, now: datetime) -> None:
    """Timeline events, each {incident_id, kind, actor, message, data}, recorded in order in one statement."""
    if events:
        given = [{**event, "data": json.dumps(event["data"]), "created_at": now} for event in events]
        session.execute(_ADDING_EVENTS, arrays.parameters("event", given, _EVENT))


def get_event_by_key(session: Session, *, incident_id: UUID, key: str) -> RowMapping | None:
    return (
        session.execute(select(timeline).where(timeline.c.incident_id == incident_id, timeline.c.idempotency_key == key)).mappings().first()
    )


def queue_pages(session: Session, queued: list[dict[str, Any]], *, reason: str, now: datetime) -> None:
    """Pages to deliver, each {incident_id, recipient}: the pager's outbox rows, due now."""
    if queued:
        values = {"reason": reason, "status": "pending", "next_attempt_at": now, "created_at": now}
        session.execute(_QUEUEING_PAGES, arrays.parameters("page", [{**page, **values} for page in queued], _PAGE))


def detail(session: Session, *, incident_id: UUID) -> dict[str, Any]:
    incident = get_or_raise(session, incident_id=incident_id)
    alerts, alerts_total = linked_alerts(session, incident_id=incident_id)
    note_rows = session.execute(select(notes).where(notes.c.incident_id == incident_id).order_by(notes.c.created_at)).mappings().all()
    events = session.execute(select(timeline).where(timeline.c.incident_id == incident_id).order_by(timeline.c.seq)).mappings().all()
    return {**incident, "alerts": alerts, "alerts_total": alerts_total, "notes": note_rows, "timeline": events}


def linked_alerts(session: Session, *, incident_id: UUID) -> tuple[list[RowMapping], int]:
    """The incident's newest `DETAIL_ALERTS` alerts, oldest first, and how many it has (counted up to the
    pagination cap), read from the view alert-ingestion publishes (none before it first ran). The session
    reads in autocommit (a read session): the view missing fails this read alone."""
    linked = select(incident_alerts).where(incident_alerts.c.incident_id == incident_id)
    newest = linked.order_by(incident_alerts.c.received_at.desc(), incident_alerts.c.alert_id).limit(DETAIL_ALERTS)
    try:
        rows = session.execute(newest).mappings().all()
        total = len(rows) if len(rows) < DETAIL_ALERTS else count_total(session, linked, Page(limit=DETAIL_ALERTS, offset=0))
    except ProgrammingError:
        return [], 0
    return list(reversed(rows)), total


def governing_policies(session: Session, *, teams: set[str]) -> dict[str, str]:
    """The name of the escalation policy governing each of these teams that has one, read from the view
    oncall-service publishes (none before oncall-service first ran). The session reads in autocommit
    (`platform_common.db.autocommit`): the view missing fails this statement alone."""
    if not teams:
        return {}
    try:
        rows = session.execute(text("SELECT team, policy_name FROM oncall.governed_teams WHERE team = ANY(:teams)"), {"teams": list(teams)})
    except ProgrammingError:
        return {}
    return {team: policy for team, policy in rows}


def events(session: Session, *, incident_id: UUID) -> list[RowMapping]:
    get_or_raise(session, incident_id=incident_id)
    return list(session.execute(select(timeline).where(timeline.c.incident_id == incident_id).order_by(timeline.c.seq)).mappings().all())


def summary(session: Session) -> dict[str, Any]:
    """Counts by status, unresolved counts by severity, mean MTTA / MTTR over every incident that has
    one: read from the kept counts (`counts.py`), a few rows, however many incidents there are."""
    by_status = {str(status): 0 for status in Status}
    open_by_severity = dict.fromkeys(("critical", "high", "medium", "low"), 0)
    mtta_sum = mttr_sum = 0.0
    mtta_count = mttr_count = 0
    for group in counts.groups(session):
        by_status[group.status] = by_status.get(group.status, 0) + group.incidents
        if group.status != Status.RESOLVED and group.severity in open_by_severity:
            open_by_severity[group.severity] += group.incidents
        mtta_sum, mtta_count = mtta_sum + group.mtta_sum, mtta_count + group.mtta_count
        mttr_sum, mttr_count = mttr_sum + group.mttr_sum, mttr_count + group.mttr_count
    return {
        "by_status": by_status,
        "open_by_severity": open_by_severity,
        "mtta_avg_seconds": mtta_sum / mtta_count if mtta_count else None,
        "mttr_avg_seconds": mttr_sum / mttr_count if mttr_count else None,
    }
