"""schedules, members, overrides, escalation policies and escalations

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0001"
down_revision = None
S = "oncall"


def _id() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()"))


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _schedule_fk(primary_key: bool = False) -> sa.Column:
    return sa.Column(
        "schedule_id", UUID(as_uuid=True), sa.ForeignKey(f"{S}.schedules.id", ondelete="CASCADE"), nullable=False, primary_key=primary_key
    )


def upgrade() -> None:
    op.create_table(
        "schedules",
        _id(),
        sa.Column("team", sa.String(200), nullable=False, unique=True),
        sa.Column("rotation_type", sa.String(16), nullable=False),
        _at("start_at"),
        sa.Column("handoff_time", sa.String(5), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("escalation_minutes", sa.Integer, nullable=False),
        sa.Column("escalation_levels", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        _at("created_at"),
        _at("updated_at"),
        sa.CheckConstraint("rotation_type IN ('daily','weekly')", name="schedule_rotation_type"),
        sa.CheckConstraint("escalation_minutes > 0", name="schedule_escalation_minutes"),
        schema=S,
    )
    op.create_table(
        "schedule_members",
        _schedule_fk(primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("role", sa.String(100)),
        schema=S,
    )
    op.create_table(
        "overrides",
        _id(),
        _schedule_fk(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        _at("start_at"),
        _at("end_at"),
        _at("created_at"),
        sa.CheckConstraint("end_at > start_at", name="override_window"),
        schema=S,
    )
    op.create_index("ix_overrides_schedule_window", "overrides", ["schedule_id", "start_at", "end_at"], schema=S)
    op.create_table(
        "escalation_policies",
        sa.Column("incident_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("team", sa.String(200), nullable=False),
        sa.Column("snapshot", JSONB, nullable=False),
        _at("incident_created_at"),
        _at("created_at"),
        schema=S,
    )
    op.create_table(
        "escalations",
        _id(),
        sa.Column(
            "incident_id", UUID(as_uuid=True), sa.ForeignKey(f"{S}.escalation_policies.incident_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("team", sa.String(200), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("manual", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        _at("next_attempt_at"),
        sa.Column("last_error", sa.Text),
        _at("created_at"),
        _at("delivered_at", True),
        sa.UniqueConstraint("incident_id", "level", name="uq_escalations_incident_level"),
        sa.CheckConstraint("status IN ('pending','paged','cancelled','failed')", name="escalation_status"),
        sa.CheckConstraint("level >= 1", name="escalation_level"),
        schema=S,
    )
    op.create_index("ix_escalations_due", "escalations", ["next_attempt_at"], schema=S, postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    for table in ("escalations", "escalation_policies", "overrides", "schedule_members", "schedules"):
        op.drop_table(table, schema=S)
