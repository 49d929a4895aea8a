"""incidents remember the alert group they were opened for (alert-ingestion's per-service grouping)

`group_key` is NULL for the default grouping (service + severity); `correlation_candidates` publishes it
so alert-ingestion joins only an incident of the alert's own group. An independent branch of this
schema's history (label `routing`), applied with the others by `upgrade heads`.

Revision ID: routing_0001
"""

import sqlalchemy as sa
from alembic import op

from platform_common.grants import grant_view

revision = "routing_0001"
down_revision = None
branch_labels = ("routing",)
depends_on = "0001"
S = "incident_management"
_COLUMNS = "id, service, severity, created_at"
_UNRESOLVED = f"FROM {S}.incidents WHERE status <> 'resolved'"


def upgrade() -> None:
    op.add_column("incidents", sa.Column("group_key", sa.String(64)), schema=S)
    op.execute(f"CREATE OR REPLACE VIEW {S}.correlation_candidates AS SELECT {_COLUMNS}, group_key {_UNRESOLVED}")


def downgrade() -> None:
    op.execute(f"DROP VIEW {S}.correlation_candidates")
    op.execute(f"CREATE VIEW {S}.correlation_candidates AS SELECT {_COLUMNS} {_UNRESOLVED}")
    grant_view(op, f"{S}.correlation_candidates", ("alert_ingestion",))
    op.drop_column("incidents", "group_key", schema=S)
