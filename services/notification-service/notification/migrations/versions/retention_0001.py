"""indexes retention needs: the rows that reference a notification (its timeline reports, the fallbacks
standing in for it), so removing an old notification looks them up instead of scanning both tables

An independent branch of this schema's history (label `retention`), applied with the others by `upgrade heads`.

Revision ID: retention_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "retention_0001"
down_revision = None
branch_labels = ("retention",)
depends_on = ("0002",)  # notifications.fallback_of and timeline_reports
S = "notification"


def upgrade() -> None:
    op.create_index("ix_timeline_reports_notification", "timeline_reports", ["notification_id"], schema=S)
    op.create_index(
        "ix_notifications_fallback_of", "notifications", ["fallback_of"], schema=S, postgresql_where=sa.text("fallback_of IS NOT NULL")
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_fallback_of", table_name="notifications", schema=S)
    op.drop_index("ix_timeline_reports_notification", table_name="timeline_reports", schema=S)
