"""dedup keys: a firing alert is one per (integration, dedup_key); repeats are counted on it; the Events
API's extra fields (custom details, links, images) are kept with the alert

An independent branch of this schema's history (label `events`), applied with the others by `upgrade heads`.

Revision ID: events_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "events_0001"
down_revision = None
branch_labels = ("events",)
depends_on = ("0003",)
S = "alert_ingestion"


def upgrade() -> None:
    op.add_column("alerts", sa.Column("dedup_key", sa.String(255)), schema=S)
    op.add_column("alerts", sa.Column("integration_id", UUID(as_uuid=True)), schema=S)
    op.add_column("alerts", sa.Column("repeat_count", sa.Integer, nullable=False, server_default=sa.text("0")), schema=S)
    op.add_column("alerts", sa.Column("last_repeated_at", sa.DateTime(timezone=True)), schema=S)
    op.add_column("alerts", sa.Column("details", JSONB), schema=S)
    # Keys sent without an integration (NULL) share one namespace: NULLS NOT DISTINCT (PostgreSQL 15).
    op.execute(
        f"CREATE UNIQUE INDEX ux_alerts_firing_dedup ON {S}.alerts (integration_id, dedup_key) NULLS NOT DISTINCT "
        f"WHERE dedup_key IS NOT NULL AND resolved_at IS NULL"
    )
    op.create_index("ix_alerts_dedup_key", "alerts", ["dedup_key"], schema=S, postgresql_where=sa.text("dedup_key IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_alerts_dedup_key", table_name="alerts", schema=S)
    op.drop_index("ux_alerts_firing_dedup", table_name="alerts", schema=S)
    for column in ("details", "last_repeated_at", "repeat_count", "integration_id", "dedup_key"):
        op.drop_column("alerts", column, schema=S)
