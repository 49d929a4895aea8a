"""indexes for the incident list at scale: newest first within each filter, ties ordered by id

The list orders by (created_at DESC, id) and filters by status, service or severity; each filter gets an
index in that order, so a page (by offset or cursor) and its capped total read only an index range
instead of scanning every incident. The (created_at DESC, id) index replaces the one on created_at alone.
An independent branch of this schema's history (label `perf`), applied with the others by `upgrade heads`.

Revision ID: perf_0001
"""

import sqlalchemy as sa
from alembic import op

from platform_common.list_indexes import create_newest_first, drop_newest_first

revision = "perf_0001"
down_revision = None
branch_labels = ("perf",)
depends_on = "0001"
S = "incident_management"
FILTERS = ("status", "service", "severity")


def upgrade() -> None:
    op.drop_index("ix_incidents_created_at", table_name="incidents", schema=S)
    create_newest_first(op, schema=S, table="incidents", at="created_at", filters=FILTERS)


def downgrade() -> None:
    drop_newest_first(op, schema=S, table="incidents", filters=FILTERS)
    op.create_index("ix_incidents_created_at", "incidents", [sa.text("created_at DESC")], schema=S)
