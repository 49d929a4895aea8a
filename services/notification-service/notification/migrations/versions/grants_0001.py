"""read access to the views this schema publishes, for the database roles of the services reading them

Production profile only (one role per service, database/roles.sh); a no-op where those roles do not exist.
An independent branch of this schema's history (label `grants`), applied after the revisions that
create the views.

Revision ID: grants_0001
"""

from alembic import op

from platform_common.grants import grant_views, revoke_views

revision = "grants_0001"
down_revision = None
branch_labels = ("grants",)
depends_on = ("audit_0001",)
S = "notification"
READERS = {
    "audit_entries": ("oncall",),  # oncall-service's GET /api/v1/audit
}


def upgrade() -> None:
    grant_views(op, S, READERS)


def downgrade() -> None:
    revoke_views(op, S, READERS)
