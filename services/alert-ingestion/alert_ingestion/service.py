"""Alert reads: one alert by id, and the filtered, paginated list."""

from uuid import UUID

from sqlalchemy import RowMapping, select
from sqlalchemy.orm import Session

from alert_ingestion.tables import alerts
from platform_common.errors import NotFound
from platform_common.pagination import Page, count_total


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
    rows = (
        session.execute(
            select(alerts).where(*filters).order_by(alerts.c.received_at.desc(), alerts.c.id).limit(page.limit).offset(page.offset)
        )
        .mappings()
        .all()
    )
    return [_out(row) for row in rows], total
