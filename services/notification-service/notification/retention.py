"""What retention removes from notification-service: finished notifications (sent, failed, cancelled)
created and last updated more than NOTIFICATION_RETENTION_DAYS ago, with their delivery attempts and
timeline reports.

Never removed, whatever its age: a notification still `pending` (a page is delivered, retried or
visibly failing, never silently dropped), one whose timeline report has not reached its incident yet,
and one a pending fallback stands in for. The oldest-first scan reads `ix_notifications_created_at`;
retention_0001 indexes the references to a notification (timeline reports, fallbacks) so removing one
never scans those tables.
"""

from sqlalchemy import exists, or_, select

from notification.tables import attempts, notifications, timeline_reports
from platform_common.retention import RetentionTarget

_fallback = notifications.alias("fallback")

NOTIFICATIONS = RetentionTarget(
    ages=[notifications.c.created_at, notifications.c.updated_at],
    keep=or_(
        notifications.c.status == "pending",
        exists(
            select(timeline_reports.c.id).where(
                timeline_reports.c.notification_id == notifications.c.id, timeline_reports.c.status == "pending"
            )
        ),
        exists(select(_fallback.c.id).where(_fallback.c.fallback_of == notifications.c.id, _fallback.c.status == "pending")),
    ),
    children=[attempts.c.notification_id, timeline_reports.c.notification_id],
)
