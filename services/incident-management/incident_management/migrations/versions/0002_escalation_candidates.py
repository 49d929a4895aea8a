"""the escalation view for oncall-service: unacknowledged incidents, backed by a partial index

oncall-service decides in one query which escalation levels are due; it reads only this view, the way
alert-ingestion reads `correlation_candidates`. The partial index holds just the open incidents, so the
read costs what is open, not every incident ever recorded.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
S = "incident_management"


def upgrade() -> None:
    op.create_index("ix_incidents_open_created_at", "incidents", ["created_at"], schema=S, postgresql_where=sa.text("status = 'open'"))
    op.execute(
        f"CREATE VIEW {S}.escalation_candidates AS "
        f"SELECT id, service, severity, status, created_at FROM {S}.incidents WHERE status = 'open'"
    )


def downgrade() -> None:
    op.execute(f"DROP VIEW IF EXISTS {S}.escalation_candidates")
    op.drop_index("ix_incidents_open_created_at", table_name="incidents", schema=S)
