"""Silences and maintenance windows: the service layer. Neither is ever deleted: DELETE ends it now, so
an alert it silenced still names it."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from sqlalchemy import RowMapping, and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from alert_ingestion.routing.schedule import WEEKDAYS
from alert_ingestion.routing.schemas import MaintenanceWindowIn, SilenceIn, SilenceState
from alert_ingestion.routing.tables import maintenance_windows, silences
from platform_common.errors import InvalidInput, NotFound
from platform_common.pagination import Page, count_total


def silence_state(row: RowMapping, now: datetime) -> SilenceState:
    if now < row["starts_at"]:
        return "pending"
    return "active" if now < row["ends_at"] else "expired"


def create_silence(session: Session, *, data: SilenceIn, created_by: str, now: datetime) -> RowMapping:
    if data.ends_at <= now:
        raise InvalidInput("ends_at is in the past", details=[{"field": "ends_at", "message": "must be in the future"}])
    values = {
        "matchers": [matcher.as_dict() for matcher in data.matchers],
        "starts_at": data.starts_at or now,
        "ends_at": data.ends_at,
        "comment": data.comment,
        "created_by": created_by,
        "created_at": now,
    }
    row = session.execute(insert(silences).values(**values).returning(silences)).mappings().one()
    session.commit()
    return row


def list_silences(session: Session, *, state: SilenceState | None, now: datetime, page: Page) -> tuple[list[RowMapping], int]:
    """Newest first; `state` filters active (now within), pending (not started) or expired ones."""
    conditions = {
        None: [],
        "active": [silences.c.starts_at <= now, silences.c.ends_at > now],
        "pending": [silences.c.starts_at > now],
        "expired": [silences.c.ends_at <= now],
    }[state]
    query = select(silences).where(*conditions)
    total = count_total(session, query, page)
    rows = session.execute(query.order_by(silences.c.created_at.desc(), silences.c.id).limit(page.limit).offset(page.offset))
    return list(rows.mappings()), total


def get_silence_or_raise(session: Session, *, silence_id: UUID) -> RowMapping:
    row = session.execute(select(silences).where(silences.c.id == silence_id)).mappings().first()
    if row is None:
        raise NotFound(f"Silence {silence_id} not found")
    return row


def expire_silence(session: Session, *, silence_id: UUID, now: datetime) -> RowMapping:
    """Ends it now (a pending one never starts); an expired one is left as it is."""
    get_silence_or_raise(session, silence_id=silence_id)
    row = session.execute(
        update(silences)
        .where(silences.c.id == silence_id)
        .values(starts_at=func.least(silences.c.starts_at, now), ends_at=func.least(silences.c.ends_at, now))
        .returning(silences)
    )
    expired = row.mappings().one()
    session.commit()
    return expired


def window_out(row: RowMapping) -> dict:
    """A window as the API shows it: weekday names instead of numbers."""
    weekdays = row["weekdays"]
    return {**row, "weekdays": None if weekdays is None else [WEEKDAYS[day] for day in weekdays]}


def create_window(session: Session, *, data: MaintenanceWindowIn, created_by: str, now: datetime) -> RowMapping:
    if data.kind == "once" and data.ends_at <= now:
        raise InvalidInput("ends_at is in the past", details=[{"field": "ends_at", "message": "must be in the future"}])
    values = data.model_dump(exclude={"weekdays", "name"}) | {
        "name": data.name or f"{data.service} maintenance",
        "weekdays": data.weekday_numbers,
        "created_by": created_by,
        "created_at": now,
    }
    row = session.execute(insert(maintenance_windows).values(**values).returning(maintenance_windows)).mappings().one()
    session.commit()
    return row


WindowState = Literal["current", "ended"]


def list_windows(session: Session, *, service: str | None, state: WindowState | None, now: datetime, page: Page):
    """Newest first; `current`: not ended (a one-off one not over yet, a weekly one not stopped)."""
    windows = maintenance_windows.c
    ended = or_(windows.ended_at.is_not(None), and_(windows.ends_at.is_not(None), windows.ends_at <= now))
    conditions = [] if service is None else [maintenance_windows.c.service == service]
    if state is not None:
        conditions.append(ended if state == "ended" else ~ended)
    query = select(maintenance_windows).where(*conditions)
    total = count_total(session, query, page)
    rows = session.execute(
        query.order_by(maintenance_windows.c.created_at.desc(), maintenance_windows.c.id).limit(page.limit).offset(page.offset)
    )
    return list(rows.mappings()), total


def end_window(session: Session, *, window_id: UUID, now: datetime) -> RowMapping:
    """Ends it now: a weekly window stops recurring; one already ended is left as it is."""
    row = (
        session.execute(
            update(maintenance_windows)
            .where(maintenance_windows.c.id == window_id)
            .values(ended_at=func.coalesce(maintenance_windows.c.ended_at, now))
            .returning(maintenance_windows)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"Maintenance window {window_id} not found")
    session.commit()
    return row
