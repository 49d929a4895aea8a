"""notifications outbox and their delivery attempts

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0001"
down_revision = None
S = "notification"


def _id() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()"))


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "notifications",
        _id(),
        sa.Column("incident_id", UUID(as_uuid=True), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(2000), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text),
        sa.Column("idempotency_key", sa.String(200), unique=True),
        _at("created_at"),
        _at("updated_at"),
        _at("sent_at", True),
        _at("next_attempt_at", True),
        sa.CheckConstraint("status IN ('pending','sent','failed')", name="notification_status"),
        sa.CheckConstraint("channel IN ('mock','webhook','email')", name="notification_channel"),
        sa.CheckConstraint("status <> 'pending' OR next_attempt_at IS NOT NULL", name="pending_is_scheduled"),
        schema=S,
    )
    op.create_index("ix_notifications_created_at", "notifications", [sa.text("created_at DESC")], schema=S)
    op.create_index("ix_notifications_incident", "notifications", ["incident_id", sa.text("created_at DESC")], schema=S)
    op.create_index("ix_notifications_due", "notifications", ["next_attempt_at"], schema=S, postgresql_where=sa.text("status = 'pending'"))
    op.create_table(
        "notification_attempts",
        _id(),
        sa.Column("notification_id", UUID(as_uuid=True), sa.ForeignKey(f"{S}.notifications.id", ondelete="CASCADE"), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("duration_seconds", sa.Float, nullable=False),
        _at("attempted_at"),
        sa.UniqueConstraint("notification_id", "attempt"),
        sa.CheckConstraint("outcome IN ('sent','failed')", name="attempt_outcome"),
        schema=S,
    )


def downgrade() -> None:
    for table in ("notification_attempts", "notifications"):
        op.drop_table(table, schema=S)
