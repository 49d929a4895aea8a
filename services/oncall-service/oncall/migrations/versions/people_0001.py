"""people: users' contact methods and notification rules

An independent branch of the oncall schema's history (label `people`), applied by `upgrade heads`.

Revision ID: people_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "people_0001"
down_revision = None
branch_labels = ("people",)
depends_on = ("identity_0001",)  # users
S = "oncall"


def _id() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()"))


def _user_fk() -> sa.Column:
    return sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey(f"{S}.users.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "contact_methods",
        _id(),
        _user_fk(),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("address", sa.String(2000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("type IN ('email', 'webhook', 'apprise')", name="contact_method_type"),
        sa.UniqueConstraint("user_id", "type", "address", name="contact_method_once"),
        schema=S,
    )
    op.create_table(
        "notification_rules",
        _id(),
        _user_fk(),
        sa.Column("contact_method_id", UUID(as_uuid=True), sa.ForeignKey(f"{S}.contact_methods.id", ondelete="CASCADE"), nullable=False),
        sa.Column("delay_minutes", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("delay_minutes BETWEEN 0 AND 1440", name="notification_rule_delay"),
        sa.UniqueConstraint("contact_method_id", "delay_minutes", name="notification_rule_once"),
        schema=S,
    )
    op.create_index("ix_notification_rules_user", "notification_rules", ["user_id"], schema=S)


def downgrade() -> None:
    op.drop_table("notification_rules", schema=S)
    op.drop_table("contact_methods", schema=S)
