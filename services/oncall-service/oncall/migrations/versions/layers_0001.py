"""layers: schedule layers with weekday / time-of-day restrictions (oncall.schedule_layers), the
per-schedule handoff notification switch (schedules.handoff_notifications) and the handoff notices
(oncall.handoff_notices, one per team and turn start)

An independent branch of the oncall schema's history (label `layers`), applied by `upgrade heads`.

Revision ID: layers_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "layers_0001"
down_revision = None
branch_labels = ("layers",)
depends_on = ("0001",)  # schedules
S = "oncall"


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column("schedules", sa.Column("handoff_notifications", sa.Boolean, nullable=False, server_default=sa.false()), schema=S)
    op.create_table(
        "schedule_layers",
        sa.Column("schedule_id", UUID(as_uuid=True), sa.ForeignKey(f"{S}.schedules.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("rotation_type", sa.String(16), nullable=False),
        _at("start_at"),
        sa.Column("handoff_time", sa.String(5), nullable=False),
        sa.Column("members", JSONB, nullable=False),
        sa.Column("restrictions", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        schema=S,
    )
    op.create_table(
        "handoff_notices",
        sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("team", sa.String(200), nullable=False),
        _at("shift_start"),
        _at("shift_end"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        _at("next_attempt_at"),
        sa.Column("last_error", sa.Text),
        _at("created_at"),
        _at("sent_at", nullable=True),
        sa.UniqueConstraint("team", "shift_start", name="handoff_notices_team_shift_start"),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'expired')", name="handoff_notices_status"),
        schema=S,
    )
    op.create_index("handoff_notices_due", "handoff_notices", ["next_attempt_at"], schema=S, postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    op.drop_table("handoff_notices", schema=S)
    op.drop_table("schedule_layers", schema=S)
    op.drop_column("schedules", "handoff_notifications", schema=S)
