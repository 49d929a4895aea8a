"""the apprise channel, and delayed notifications (notifications.not_before)

An independent branch of this schema's history (label `apprise`), applied with the others by `upgrade
heads`. A person's notification rule ("chat after 5 minutes") is a notification not sent before
`not_before`, cancelled instead if its incident is acknowledged by then.

Revision ID: apprise_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "apprise_0001"
down_revision = None
branch_labels = ("apprise",)
depends_on = ("0002",)  # the notifications table as 0001 and 0002 left it
S = "notification"
CHANNEL = "notification_channel"


def upgrade() -> None:
    op.add_column("notifications", sa.Column("not_before", sa.DateTime(timezone=True)), schema=S)
    op.drop_constraint(CHANNEL, "notifications", schema=S, type_="check")
    op.create_check_constraint(CHANNEL, "notifications", "channel IN ('mock','webhook','email','apprise')", schema=S)


def downgrade() -> None:
    op.execute(f"DELETE FROM {S}.notifications WHERE channel = 'apprise'")
    op.drop_constraint(CHANNEL, "notifications", schema=S, type_="check")
    op.create_check_constraint(CHANNEL, "notifications", "channel IN ('mock','webhook','email')", schema=S)
    op.drop_column("notifications", "not_before", schema=S)
