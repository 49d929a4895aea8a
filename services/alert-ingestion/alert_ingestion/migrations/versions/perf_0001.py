"""indexes for the alert list at scale: newest first within each filter, ties ordered by id

The list orders by (received_at DESC, id) and filters by incident, service, severity or status; each
filter gets an index in that order, so a page (by offset or cursor) and its capped total read only an
index range instead of scanning a million alerts. The incident's index replaces the one on incident_id
alone (it still answers every lookup by incident); (received_at DESC, id) lets a deep offset skip rows
in the index alone. An independent branch of this schema's history
(label `perf`), applied with the others by `upgrade heads`.

Revision ID: perf_0001
"""

from alembic import op

from platform_common.list_indexes import create_newest_first, drop_newest_first

revision = "perf_0001"
down_revision = None
branch_labels = ("perf",)
depends_on = "0001"
S = "alert_ingestion"
FILTERS = ("incident_id", "service", "severity", "status")


def upgrade() -> None:
    op.drop_index("ix_alerts_incident", table_name="alerts", schema=S)
    create_newest_first(op, schema=S, table="alerts", at="received_at", filters=FILTERS)


def downgrade() -> None:
    drop_newest_first(op, schema=S, table="alerts", filters=FILTERS)
    op.create_index("ix_alerts_incident", "alerts", ["incident_id"], schema=S)
