"""the append-only audit log of mutating requests, published as the view audit_entries

An independent branch of this schema's history (label `audit`), applied with the others by `upgrade heads`.

Revision ID: audit_0001
"""

from alembic import op

from platform_common.auth.audit import create_audit_table, drop_audit_table

revision = "audit_0001"
down_revision = None
branch_labels = ("audit",)
S = "notification"


def upgrade() -> None:
    create_audit_table(op, S)


def downgrade() -> None:
    drop_audit_table(op, S)
