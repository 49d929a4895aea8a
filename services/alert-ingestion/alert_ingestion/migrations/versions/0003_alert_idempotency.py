"""alerts posted with an Idempotency-Key are stored once: a retry returns the alert already stored

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
S = "alert_ingestion"


def upgrade() -> None:
    op.add_column("alerts", sa.Column("idempotency_key", sa.String(200)), schema=S)
    op.create_index(
        "ux_alerts_idempotency",
        "alerts",
        ["idempotency_key"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ux_alerts_idempotency", table_name="alerts", schema=S)
    op.drop_column("alerts", "idempotency_key", schema=S)
