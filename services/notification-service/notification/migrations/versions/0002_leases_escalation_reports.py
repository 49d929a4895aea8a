"""pages that keep failing, fallbacks, cancelled pages, timeline reports

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002"
down_revision = "0001"
S = "notification"
STATUS = "notification_status"


def upgrade() -> None:
    op.add_column("notifications", sa.Column("failing_since", sa.DateTime(timezone=True)), schema=S)
    op.add_column("notifications", sa.Column("fallbacks", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")), schema=S)
    op.add_column(
        "notifications",
        sa.Column("fallback_of", UUID(as_uuid=True), sa.ForeignKey(f"{S}.notifications.id", ondelete="SET NULL")),
        schema=S,
    )
    op.drop_constraint(STATUS, "notifications", schema=S, type_="check")
    op.create_check_constraint(STATUS, "notifications", "status IN ('pending','sent','failed','cancelled')", schema=S)
    failing = sa.text("status = 'pending' AND failing_since IS NOT NULL")
    op.create_index("ix_notifications_failing", "notifications", ["channel"], schema=S, postgresql_where=failing)
    op.create_table(
        "timeline_reports",
        sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("notification_id", UUID(as_uuid=True), sa.ForeignKey(f"{S}.notifications.id", ondelete="CASCADE"), nullable=False),
        sa.Column("incident_id", UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status IN ('pending','sent','dropped')", name="timeline_report_status"),
        sa.CheckConstraint("status <> 'pending' OR next_attempt_at IS NOT NULL", name="report_pending_is_scheduled"),
        schema=S,
    )
    op.create_index(
        "ix_timeline_reports_due", "timeline_reports", ["next_attempt_at"], schema=S, postgresql_where=sa.text("status = 'pending'")
    )


def downgrade() -> None:
    op.drop_table("timeline_reports", schema=S)
    op.drop_index("ix_notifications_failing", "notifications", schema=S)
    op.execute(f"UPDATE {S}.notifications SET status = 'failed', next_attempt_at = NULL WHERE status = 'cancelled'")
    op.drop_constraint(STATUS, "notifications", schema=S, type_="check")
    op.create_check_constraint(STATUS, "notifications", "status IN ('pending','sent','failed')", schema=S)
    for column in ("fallback_of", "fallbacks", "failing_since"):
        op.drop_column("notifications", column, schema=S)
