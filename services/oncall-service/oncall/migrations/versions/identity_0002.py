"""schedule members may be platform users (schedule_members.user_id)

Revision ID: identity_0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "identity_0002"
down_revision = "identity_0001"
branch_labels = None
depends_on = "0001"  # schedule_members comes from the main branch
S = "oncall"


def upgrade() -> None:
    op.add_column(
        "schedule_members", sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey(f"{S}.users.id", ondelete="SET NULL")), schema=S
    )
    op.create_index("schedule_members_user", "schedule_members", ["user_id"], schema=S)


def downgrade() -> None:
    op.drop_index("schedule_members_user", "schedule_members", schema=S)
    op.drop_column("schedule_members", "user_id", schema=S)
