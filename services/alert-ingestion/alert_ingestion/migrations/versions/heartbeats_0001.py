"""heartbeats: a job or monitoring chain that pings; no ping for interval + grace opens an incident

An independent branch of this schema's history (label `heartbeats`), applied with the others by `upgrade heads`.

Revision ID: heartbeats_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "heartbeats_0001"
down_revision = None
branch_labels = ("heartbeats",)
S = "alert_ingestion"


def upgrade() -> None:
    op.create_table(
        "heartbeats",
        sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("interval_seconds", sa.Integer, nullable=False),
        sa.Column("grace_seconds", sa.Integer, nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_ping_at", sa.DateTime(timezone=True)),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("down_since", sa.DateTime(timezone=True)),
        sa.Column("alert_id", UUID(as_uuid=True)),
        sa.CheckConstraint("interval_seconds > 0 AND grace_seconds >= 0", name="heartbeat_timing"),
        schema=S,
    )
    # The monitor's question, "which heartbeats that are up are overdue?", reads only this index.
    op.create_index("ix_heartbeats_due", "heartbeats", ["due_at"], schema=S, postgresql_where=sa.text("down_since IS NULL"))


def downgrade() -> None:
    op.drop_table("heartbeats", schema=S)
