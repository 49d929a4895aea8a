"""timeline events recorded by other services carry an idempotency key: a retried report is stored once

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
S = "incident_management"


def upgrade() -> None:
    op.add_column("timeline_events", sa.Column("idempotency_key", sa.String(200)), schema=S)
    op.create_index(
        "ux_timeline_idempotency",
        "timeline_events",
        ["incident_id", "idempotency_key"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ux_timeline_idempotency", table_name="timeline_events", schema=S)
    op.drop_column("timeline_events", "idempotency_key", schema=S)
