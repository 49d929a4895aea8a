"""incidents, notes, timeline, page outbox, and the correlation view for alert-ingestion

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0001"
down_revision = None
S = "incident_management"


def _id() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()"))


def _incident_fk() -> sa.Column:
    return sa.Column("incident_id", UUID(as_uuid=True), sa.ForeignKey(f"{S}.incidents.id", ondelete="CASCADE"), nullable=False)


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "incidents",
        _id(),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assigned_to", sa.String(200)),
        _at("created_at"),
        _at("updated_at"),
        _at("acknowledged_at", True),
        _at("resolved_at", True),
        sa.Column("mtta_seconds", sa.Float),
        sa.Column("mttr_seconds", sa.Float),
        sa.Column("idempotency_key", sa.String(200), unique=True),
        sa.CheckConstraint("status IN ('open','acknowledged','in_progress','resolved')", name="incident_status"),
        sa.CheckConstraint("severity IN ('critical','high','medium','low')", name="incident_severity"),
        schema=S,
    )
    op.create_index("ix_incidents_created_at", "incidents", [sa.text("created_at DESC")], schema=S)
    op.create_index(
        "ix_incidents_correlation",
        "incidents",
        ["service", "severity", sa.text("created_at DESC")],
        schema=S,
        postgresql_where=sa.text("status <> 'resolved'"),
    )
    op.create_table(
        "incident_notes",
        _id(),
        _incident_fk(),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        _at("created_at"),
        schema=S,
    )
    op.create_index("ix_notes_incident", "incident_notes", ["incident_id", "created_at"], schema=S)
    op.create_table(
        "timeline_events",
        _id(),
        _incident_fk(),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("data", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        _at("created_at"),
        schema=S,
    )
    op.create_index("ix_timeline_incident", "timeline_events", ["incident_id", "seq"], schema=S)
    op.create_table(
        "pages",
        _id(),
        _incident_fk(),
        sa.Column("recipient", sa.String(320)),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        _at("next_attempt_at"),
        sa.Column("last_error", sa.Text),
        _at("created_at"),
        _at("sent_at", True),
        schema=S,
    )
    op.create_index("ix_pages_due", "pages", ["next_attempt_at"], schema=S, postgresql_where=sa.text("status = 'pending'"))
    op.execute(
        f"CREATE VIEW {S}.correlation_candidates AS SELECT id, service, severity, created_at FROM {S}.incidents WHERE status <> 'resolved'"
    )


def downgrade() -> None:
    op.execute(f"DROP VIEW IF EXISTS {S}.correlation_candidates")
    for table in ("pages", "timeline_events", "incident_notes", "incidents"):
        op.drop_table(table, schema=S)
