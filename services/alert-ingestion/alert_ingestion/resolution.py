"""Alerts resolved at their source, and what that means for their incidents.

A `resolved` notification marks the source's firing alert resolved and flags it for reporting. The
report step (run right away and by the background cycle, so a peer that is down only delays it) records
on each affected incident's timeline when all its alerts are resolved, and resolves the incident when
`AUTO_RESOLVE_INCIDENTS` is on. Flags are cleared only after incident-management has taken the report.
"""

import logging
from datetime import datetime
from uuid import UUID

from sqlalchemy import Engine, func, select, update

from alert_ingestion.tables import alerts
from platform_common.http import PeerUnavailable, ServiceClient

logger = logging.getLogger(__name__)
ACTOR = "alert-ingestion"


def mark_resolved(engine: Engine, *, source: str, fingerprint: str, resolved_at: datetime) -> int:
    """Resolve the source's firing alert with this fingerprint; returns how many rows changed (0 or 1)."""
    with engine.begin() as connection:
        return connection.execute(
            update(alerts)
            .where(alerts.c.source == source, alerts.c.fingerprint == fingerprint, alerts.c.resolved_at.is_(None))
            .values(resolved_at=resolved_at, resolution_pending=True)
        ).rowcount


class ResolutionReporter:
    def __init__(self, engine: Engine, incidents: ServiceClient, *, auto_resolve: bool) -> None:
        self.engine = engine
        self.incidents = incidents
        self.auto_resolve = auto_resolve

    def report_pending(self) -> int:
        """Report every incident with newly resolved alerts; returns how many incidents were handled."""
        with self.engine.connect() as connection:
            incident_ids = (
                connection.execute(
                    select(alerts.c.incident_id).where(alerts.c.resolution_pending, alerts.c.incident_id.is_not(None)).distinct()
                )
                .scalars()
                .all()
            )
        handled = 0
        for incident_id in incident_ids:
            try:
                self._report(incident_id)
            except PeerUnavailable:
                logger.warning("incident-management unavailable; resolution of incident %s reported later", incident_id)
                break
            handled += 1
        return handled

    def _report(self, incident_id: UUID) -> None:
        with self.engine.connect() as connection:
            total, firing = connection.execute(
                select(func.count(), func.count().filter(alerts.c.resolved_at.is_(None))).where(alerts.c.incident_id == incident_id)
            ).one()
        if firing == 0:
            self.incidents.post(
                f"/api/v1/incidents/{incident_id}/timeline",
                json={
                    "kind": "alerts_resolved",
                    "actor": ACTOR,
                    "message": f"All {total} alert(s) resolved at the source",
                    "data": {"alerts": total},
                },
            )
            if self.auto_resolve:
                response = self.incidents.request(
                    "PATCH",
                    f"/api/v1/incidents/{incident_id}",
                    json={
                        "status": "resolved",
                        "author": ACTOR,
                        "note": "Auto-resolved: every alert of this incident is resolved at its source",
                    },
                )
                if response.status_code not in (200, 409):  # 409: already resolved by a person
                    logger.warning("auto-resolve of incident %s answered %s", incident_id, response.status_code)
        with self.engine.begin() as connection:
            connection.execute(
                update(alerts).where(alerts.c.incident_id == incident_id, alerts.c.resolution_pending).values(resolution_pending=False)
            )
