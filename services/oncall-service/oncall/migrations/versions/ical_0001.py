"""ical: the secrets of the schedule and user iCal feeds (their SHA-256 digests)

An independent branch of the oncall schema's history (label `ical`), applied by `upgrade heads`.

Revision ID: ical_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "ical_0001"
down_revision = None
branch_labels = ("ical",)
depends_on = ("0001", "identity_0001")  # schedules and users
S = "oncall"


def _owner(name: str, table: str) -> sa.Column:
    return sa.Column(name, UUID(as_uuid=True), sa.ForeignKey(f"{S}.{table}.id", ondelete="CASCADE"), primary_key=True)


def upgrade() -> None:
    for table, owner in (("schedule_ical_tokens", _owner("schedule_id", "schedules")), ("user_ical_tokens", _owner("user_id", "users"))):
        op.create_table(
            table,
            owner,
            sa.Column("secret_hash", sa.String(64), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            schema=S,
        )


def downgrade() -> None:
    op.drop_table("user_ical_tokens", schema=S)
    op.drop_table("schedule_ical_tokens", schema=S)
