"""the nonces of used page links (acknowledge / resolve from the page): each link acts once

An independent branch of this schema's history (label `pagelinks`), applied with the others by `upgrade heads`.

Revision ID: pagelinks_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "pagelinks_0001"
down_revision = None
branch_labels = ("pagelinks",)
depends_on = "0001"
S = "incident_management"


def upgrade() -> None:
    op.create_table(
        "used_page_links",
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("incident_id", UUID(as_uuid=True), sa.ForeignKey(f"{S}.incidents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("used_page_links", schema=S)
