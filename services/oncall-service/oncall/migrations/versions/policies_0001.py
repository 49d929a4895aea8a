"""escalation policies (oncall.policies), who each escalation pages and whether it is the exhaustion
level (escalations.recipients, escalations.kind), and the view oncall.governed_teams

An independent branch of the oncall schema's history (label `policies`), applied by `upgrade heads`.
`oncall.governed_teams` (team → the policy governing its incidents) is published to incident-management,
which leaves the first page of such a team to the policy's step 1 (read access: `policies_grants_0001`).

Revision ID: policies_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "policies_0001"
down_revision = None
branch_labels = ("policies",)
depends_on = ("0001",)  # escalations comes from the main branch
S = "oncall"
VIEW = f"{S}.governed_teams"


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("team", sa.String(200), unique=True),
        sa.Column("steps", JSONB, nullable=False),
        sa.Column("repeat", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("repeat BETWEEN 0 AND 10", name="policies_repeat"),
        schema=S,
    )
    op.add_column("escalations", sa.Column("recipients", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")), schema=S)
    op.add_column("escalations", sa.Column("kind", sa.String(16), nullable=False, server_default="step"), schema=S)
    op.create_check_constraint("escalation_kind", "escalations", "kind IN ('step', 'exhausted')", schema=S)
    # Levels claimed before: the one person each paged.
    op.execute(f"UPDATE {S}.escalations SET recipients = jsonb_build_array(jsonb_build_object('name', name, 'email', email))")
    op.execute(f"CREATE VIEW {VIEW} AS SELECT team, id AS policy_id, name AS policy_name FROM {S}.policies WHERE team IS NOT NULL")


def downgrade() -> None:
    op.execute(f"DROP VIEW IF EXISTS {VIEW}")
    op.drop_constraint("escalation_kind", "escalations", schema=S)
    op.drop_column("escalations", "kind", schema=S)
    op.drop_column("escalations", "recipients", schema=S)
    op.drop_table("policies", schema=S)
