"""notifications.destination: where an attempt connects, so one slow receiver holds only its own lane

An independent branch of this schema's history (label `lanes`), applied with the others by `upgrade
heads`. Rows stored before it have no destination and are laned by their channel.

Revision ID: lanes_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "lanes_0001"
down_revision = None
branch_labels = ("lanes",)
depends_on = ("0001",)  # the notifications table
S = "notification"


def upgrade() -> None:
    op.add_column("notifications", sa.Column("destination", sa.String(300)), schema=S)


def downgrade() -> None:
    op.drop_column("notifications", "destination", schema=S)
