"""read access to oncall.governed_teams for incident-management's database role

Part of the `grants` branch (after grants_0001), so downgrading `grants@base` takes it away with every
other cross-schema right; it needs the view from `policies_0001`.

Revision ID: policies_grants_0001
"""

from alembic import op

from platform_common.grants import grant_view, revoke_view

revision = "policies_grants_0001"
down_revision = "grants_0001"
branch_labels = None
depends_on = ("policies_0001",)
VIEW = "oncall.governed_teams"
READERS = ("incident_management",)  # opening an incident: does a policy page this team?


def upgrade() -> None:
    grant_view(op, VIEW, READERS)


def downgrade() -> None:
    revoke_view(op, VIEW, READERS)
