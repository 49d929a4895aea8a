"""drop ix_alerts_received_at: ix_alerts_newest (received_at DESC, id) answers everything it did

Every scan by received_at alone, newest first (the list) or oldest first (retention's candidates, a
backward scan), reads ix_alerts_newest as well; keeping both had each stored alert inserted into one
more index for nothing. The intake's batch insert of 16 alerts took a median 1.50 ms without it
against 1.76 ms with it (EXPLAIN ANALYZE, 40 runs each, 2026-12-02), and ingest at 32 connections
wrote 1.52 kB of WAL per alert against 1.61 (runs alternated); PostgreSQL's CPU per alert moved less
than the machine's swing.

Revision ID: perf_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "perf_0002"
down_revision = "perf_0001"
branch_labels = None
depends_on = None
S = "alert_ingestion"


def upgrade() -> None:
    op.drop_index("ix_alerts_received_at", table_name="alerts", schema=S)


def downgrade() -> None:
    op.create_index("ix_alerts_received_at", "alerts", [sa.text("received_at DESC")], schema=S)
