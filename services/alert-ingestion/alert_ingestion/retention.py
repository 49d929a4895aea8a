"""What retention removes from alert-ingestion: alerts received more than ALERT_RETENTION_DAYS ago.

Never removed, whatever its age, is an alert that still has work or meaning: one still `pending` (not
yet correlated: an accepted alert is done or visibly pending), one whose resolution is not yet reported
to its incident, and one still firing under a fingerprint or dedup key (a repeat of it must keep
counting on it, and a heartbeat that is down points at it). Incidents live in incident-management and
are never touched; their detail page simply lists fewer alerts. The oldest-first scan reads the
index `ix_alerts_newest` (received_at DESC, id) backwards.
"""

from sqlalchemy import and_, or_

from alert_ingestion.tables import alerts
from platform_common.retention import RetentionTarget

ALERTS = RetentionTarget(
    ages=[alerts.c.received_at],
    keep=or_(
        alerts.c.status == "pending",
        alerts.c.resolution_pending,
        and_(alerts.c.resolved_at.is_(None), or_(alerts.c.fingerprint.is_not(None), alerts.c.dedup_key.is_not(None))),
    ),
)
