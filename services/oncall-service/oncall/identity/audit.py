"""Reading the audit log: every service appends to its own `<schema>.audit_log` and publishes it as the
view `<schema>.audit_entries`; `GET /api/v1/audit` reads them all, newest first."""

from sqlalchemy import RowMapping, text
from sqlalchemy.orm import Session

from platform_common.pagination import TOTAL_COUNT_CAP, TOTAL_COUNT_CAPPED_HEADER, Page

AUDITED = {
    "alert_ingestion": "alert-ingestion",
    "incident_management": "incident-management",
    "oncall": "oncall-service",
    "notification": "notification-service",
}
_COLUMNS = "at, actor, actor_kind, role, method, path, status, target, request_id, source"


def _published(session: Session) -> list[str]:
    """Schemas whose service has migrated its audit log (a service not started yet has none)."""
    return [
        schema for schema in AUDITED if session.execute(text("SELECT to_regclass(:view)"), {"view": f"{schema}.audit_entries"}).scalar()
    ]


def list_(session: Session, *, actor: str | None, page: Page) -> tuple[list[RowMapping], int]:
    schemas = _published(session)
    if not schemas:
        return [], 0
    where = " WHERE actor = :actor" if actor is not None else ""
    union = " UNION ALL ".join(
        f"SELECT '{AUDITED[schema]}' AS service, {_COLUMNS} FROM {schema}.audit_entries{where}" for schema in schemas
    )
    params = {"actor": actor, "limit": page.limit, "offset": page.offset}
    capped = f"SELECT 1 FROM ({union}) entries LIMIT {TOTAL_COUNT_CAP + 1}"
    total = session.execute(text(f"SELECT count(*) FROM ({capped}) capped"), params).scalar_one()
    if total > TOTAL_COUNT_CAP:
        total = TOTAL_COUNT_CAP
        if page.response is not None:
            page.response.headers[TOTAL_COUNT_CAPPED_HEADER] = "true"
    rows = session.execute(text(f"SELECT * FROM ({union}) entries ORDER BY at DESC LIMIT :limit OFFSET :offset"), params).mappings().all()
    return list(rows), total
