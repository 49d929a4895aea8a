"""routing rules, silences, maintenance windows and per-service grouping; alerts may be silenced or dropped

An independent branch of this schema's history (label `routing`), applied with the others by `upgrade heads`.
Alerts gain what decided their fate (the routing rule, the silence or maintenance window) and their group
key, and the statuses `silenced` and `dropped`.

Revision ID: routing_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "routing_0001"
down_revision = None
branch_labels = ("routing",)
depends_on = "0003"
S = "alert_ingestion"


def _id() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()"))


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "routing_rules",
        _id(),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("integration_id", UUID(as_uuid=True)),
        sa.Column("matchers", JSONB, nullable=False),
        sa.Column("set_service", sa.String(200)),
        sa.Column("set_severity", sa.String(16)),
        sa.Column("drop", sa.Boolean, nullable=False, server_default=sa.false()),
        _at("created_at"),
        _at("updated_at"),
        schema=S,
    )
    op.create_table(
        "silences",
        _id(),
        sa.Column("matchers", JSONB, nullable=False),
        _at("starts_at"),
        _at("ends_at"),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        _at("created_at"),
        sa.CheckConstraint("ends_at > starts_at", name="silence_period"),
        schema=S,
    )
    op.create_index("ix_silences_ends_at", "silences", ["ends_at"], schema=S)
    op.create_table(
        "maintenance_windows",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        _at("starts_at", True),
        _at("ends_at", True),
        sa.Column("weekdays", JSONB),
        sa.Column("start_time", sa.Time),
        sa.Column("duration_minutes", sa.Integer),
        sa.Column("timezone", sa.String(64)),
        sa.Column("created_by", sa.String(200), nullable=False),
        _at("created_at"),
        _at("ended_at", True),
        sa.CheckConstraint(
            "(kind = 'once' AND ends_at > starts_at) OR (kind = 'weekly' AND duration_minutes > 0 AND timezone IS NOT NULL)",
            name="maintenance_window_shape",
        ),
        schema=S,
    )
    op.create_table(
        "grouping_policies",
        sa.Column("service", sa.String(200), primary_key=True),
        sa.Column("group_by", JSONB, nullable=False),
        sa.Column("window_seconds", sa.Integer),
        _at("updated_at"),
        schema=S,
    )
    for column in ("routing_rule_id", "silence_id", "maintenance_window_id"):
        op.add_column("alerts", sa.Column(column, UUID(as_uuid=True)), schema=S)
    op.add_column("alerts", sa.Column("group_key", sa.String(64)), schema=S)
    op.drop_constraint("alert_status", "alerts", schema=S)
    op.create_check_constraint("alert_status", "alerts", "status IN ('pending','correlated','silenced','dropped')", schema=S)


def downgrade() -> None:
    op.execute(f"DELETE FROM {S}.alerts WHERE status IN ('silenced', 'dropped')")
    op.drop_constraint("alert_status", "alerts", schema=S)
    op.create_check_constraint("alert_status", "alerts", "status IN ('pending','correlated')", schema=S)
    for column in ("group_key", "maintenance_window_id", "silence_id", "routing_rule_id"):
        op.drop_column("alerts", column, schema=S)
    for table in ("grouping_policies", "maintenance_windows", "silences", "routing_rules"):
        op.drop_table(table, schema=S)
