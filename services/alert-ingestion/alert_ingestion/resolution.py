"""Alerts resolved at their source, and what that means for their incidents.

A `resolved` notification marks the source's firing alert resolved and flags it for reporting. The
report step (run right away and by the background cycle, so a peer that is down only delays it) records
on each affected incident's timeline when all its alerts are resolved, and resolves the incident when
`AUTO_RESOLVE_INCIDENTS` is on. Flags are cleared only after incident-management has taken the report,
and only the flags that report was about: an alert resolved meanwhile is reported next time. The
timeline event carries an Idempotency-Key, so a report retried after a partial failure is stored once.
"""

import logging
from datetime import datetime
from uuid import UUID

from sqlalchemy import Engine, func, select, update

from alert_ingestion.tables import alerts
from platform_common.db import autocommitted
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
        """Report every incident with newly resolved alerts; returns how many reports were taken."""
        with autocommitted(self.engine) as connection:
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
                handled += self._report(incident_id)
            except PeerUnavailable:
                logger.warning("incident-management unavailable; resolution of incident %s reported later", incident_id)
                break
        return handled

    def _report(self, incident_id: UUID) -> bool:
        """Report one incident; its flags are cleared only when incident-management took the report."""
        with autocommitted(self.engine) as connection:  # one statement: the counts and the flags agree
            total, firing, flagged = connection.execute(
                select(
                    func.count(),
                    func.count().filter(alerts.c.resolved_at.is_(None)),
                    func.array_agg(alerts.c.id).filter(alerts.c.resolution_pending),
                ).where(alerts.c.incident_id == incident_id)
            ).one()
        if firing == 0 and not self._report_all_resolved(incident_id, total):
            return False
        with self.engine.begin() as connection:
            connection.execute(update(alerts).where(alerts.c.id.in_(flagged or [])).values(resolution_pending=False))
        return True

    def _report_all_resolved(self, incident_id: UUID, total: int) -> bool:
        """Tell incident-management every alert of the incident is resolved (and resolve it when
        configured); False when it did not take the report (retried next cycle)."""
        event = self.incidents.post(
            f"/api/v1/incidents/{incident_id}/timeline",
            json={
                "kind": "alerts_resolved",
                "actor": ACTOR,
                "message": f"All {total} alert(s) resolved at the source",
                "data": {"alerts": total},
            },
            headers={"Idempotency-Key": f"alerts-resolved:{incident_id}:{total}"},
        )
        if event.status_code == 404:  # the incident is gone: nothing left to report to
            return True
        if event.status_code not in (200, 201):
            logger.warning("resolution of incident %s refused (%s); retried later", incident_id, event.status_code)
            return False
        if not self.auto_resolve:
            return True
        response = self.incidents.request(
            "PATCH",
            f"/api/v1/incidents/{incident_id}",
            json={"status": "resolved", "author": ACTOR, "note": "Auto-resolved: every alert of this incident is resolved at its source"},
        )
        if response.status_code not in (200, 409):  # 409: already resolved by a person
            logger.warning("auto-resolve of incident %s answered %s; retried later", incident_id, response.status_code)
            return False
        return True
