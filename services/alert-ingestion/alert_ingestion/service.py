"""Alert reads: one alert by id, and the filtered, paginated list."""

from uuid import UUID

from sqlalchemy import RowMapping, select
from sqlalchemy.orm import Session

from alert_ingestion.tables import alerts
from platform_common.errors import NotFound
from platform_common.pagination import Page, count_total, newest_first, set_next_cursor


def _out(row: RowMapping) -> dict:
    return {**row, "alert_id": row["id"]}


def get_or_raise(session: Session, *, alert_id: UUID) -> dict:
    row = session.execute(select(alerts).where(alerts.c.id == alert_id)).mappings().first()
    if row is None:
        raise NotFound(f"Alert {alert_id} not found")
    return _out(row)


def list_(
    session: Session, *, service: str | None, severity: str | None, incident_id: UUID | None, status: str | None, page: Page
) -> tuple[list[dict], int]:
    filters = []
    if service is not None:
        filters.append(alerts.c.service == service)
    if severity is not None:
        filters.append(alerts.c.severity == severity)
    if incident_id is not None:
        filters.append(alerts.c.incident_id == incident_id)
    if status is not None:
        filters.append(alerts.c.status == status)
    total = count_total(session, select(alerts).where(*filters), page)
    rows = session.execute(newest_first(select(alerts).where(*filters), page, at=alerts.c.received_at, id_=alerts.c.id)).mappings().all()
    set_next_cursor(page, rows, at="received_at", id_="id")
    return [_out(row) for row in rows], total
