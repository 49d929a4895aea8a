"""deduplicate firing alerts per source fingerprint; track resolutions still to report to incidents

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
S = "alert_ingestion"


def upgrade() -> None:
    op.drop_index("ix_alerts_fingerprint", "alerts", schema=S)
    op.create_index(
        "ux_alerts_firing_fingerprint",
        "alerts",
        ["source", "fingerprint"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("fingerprint IS NOT NULL AND resolved_at IS NULL"),
    )
    op.add_column("alerts", sa.Column("resolution_pending", sa.Boolean, nullable=False, server_default=sa.false()), schema=S)
    op.create_index("ix_alerts_resolution_pending", "alerts", ["incident_id"], schema=S, postgresql_where=sa.text("resolution_pending"))


def downgrade() -> None:
    op.drop_index("ix_alerts_resolution_pending", "alerts", schema=S)
    op.drop_column("alerts", "resolution_pending", schema=S)
    op.drop_index("ux_alerts_firing_fingerprint", "alerts", schema=S)
    op.create_index(
        "ix_alerts_fingerprint", "alerts", ["source", "fingerprint"], schema=S, postgresql_where=sa.text("fingerprint IS NOT NULL")
    )
