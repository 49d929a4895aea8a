"""alerts, and the per-incident alert view published for incident-management

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0001"
down_revision = None
S = "alert_ingestion"


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("labels", JSONB, nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.String(200)),
        sa.Column("incident_id", UUID(as_uuid=True)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("action", sa.String(40)),
        sa.Column("correlated_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status IN ('pending','correlated')", name="alert_status"),
        schema=S,
    )
    op.create_index("ix_alerts_received_at", "alerts", [sa.text("received_at DESC")], schema=S)
    op.create_index("ix_alerts_incident", "alerts", ["incident_id"], schema=S)
    op.create_index("ix_alerts_pending", "alerts", ["received_at"], schema=S, postgresql_where=sa.text("status = 'pending'"))
    op.create_index(
        "ix_alerts_fingerprint", "alerts", ["source", "fingerprint"], schema=S, postgresql_where=sa.text("fingerprint IS NOT NULL")
    )
    op.execute(
        f"CREATE VIEW {S}.incident_alerts AS SELECT id AS alert_id, incident_id, service, severity, message, labels, "
        f"CASE WHEN resolved_at IS NULL THEN 'firing' ELSE 'resolved' END AS status, timestamp, received_at "
        f"FROM {S}.alerts WHERE incident_id IS NOT NULL"
    )


def downgrade() -> None:
    op.execute(f"DROP VIEW IF EXISTS {S}.incident_alerts")
    op.drop_table("alerts", schema=S)
