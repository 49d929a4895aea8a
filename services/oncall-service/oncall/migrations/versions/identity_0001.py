"""identity: users, teams, API tokens, sessions, integrations, failed logins; the view oncall.principals

An independent branch of the oncall schema's history (label `identity`), applied by `upgrade heads`.
`oncall.principals` maps a secret's SHA-256 digest to who it stands for; it is the one source every
service reads to authenticate a request (secrets themselves are never stored).

Revision ID: identity_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "identity_0001"
down_revision = None
branch_labels = ("identity",)
S = "oncall"


def _id() -> sa.Column:
    return sa.Column("id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()"))


def _at(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _user_fk() -> sa.Column:
    return sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey(f"{S}.users.id", ondelete="CASCADE"), nullable=False)


def _secret() -> sa.Column:
    return sa.Column("secret_hash", sa.String(64), nullable=False, unique=True)


def upgrade() -> None:
    op.create_table(
        "users",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(200)),
        _at("created_at"),
        _at("updated_at"),
        sa.CheckConstraint("role IN ('viewer', 'responder', 'admin')", name="users_role"),
        schema=S,
    )
    op.create_index("users_email", "users", [sa.text("lower(email)")], unique=True, schema=S)
    op.create_table("teams", _id(), sa.Column("name", sa.String(200), nullable=False, unique=True), _at("created_at"), schema=S)
    op.create_table(
        "team_members",
        sa.Column("team_id", UUID(as_uuid=True), sa.ForeignKey(f"{S}.teams.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", UUID(as_uuid=True), sa.ForeignKey(f"{S}.users.id", ondelete="CASCADE"), primary_key=True),
        schema=S,
    )
    op.create_table(
        "api_tokens",
        _id(),
        _user_fk(),
        sa.Column("name", sa.String(200), nullable=False),
        _secret(),
        _at("created_at"),
        _at("revoked_at", True),
        schema=S,
    )
    op.create_table("sessions", _id(), _user_fk(), _secret(), _at("created_at"), _at("expires_at"), _at("revoked_at", True), schema=S)
    op.create_table(
        "integrations",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("service", sa.String(200)),
        _secret(),
        _at("created_at"),
        _at("revoked_at", True),
        schema=S,
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        _at("at"),
        schema=S,
    )
    op.create_index("login_failures_email_at", "login_failures", [sa.text("lower(email)"), "at"], schema=S)
    op.create_index("login_failures_source_at", "login_failures", ["source", "at"], schema=S)
    op.execute(
        f"""CREATE VIEW {S}.principals AS
        SELECT t.secret_hash, 'user'::text AS kind, u.id AS principal_id, u.name, u.email, u.role,
               NULL::text AS integration_kind, NULL::text AS service, NULL::timestamptz AS expires_at
          FROM {S}.api_tokens t JOIN {S}.users u ON u.id = t.user_id WHERE t.revoked_at IS NULL
        UNION ALL
        SELECT s.secret_hash, 'user', u.id, u.name, u.email, u.role, NULL, NULL, s.expires_at
          FROM {S}.sessions s JOIN {S}.users u ON u.id = s.user_id WHERE s.revoked_at IS NULL
        UNION ALL
        SELECT i.secret_hash, 'integration', i.id, i.name, NULL, NULL, i.kind, i.service, NULL
          FROM {S}.integrations i WHERE i.revoked_at IS NULL"""
    )


def downgrade() -> None:
    op.execute(f"DROP VIEW IF EXISTS {S}.principals")
    for table in ("login_failures", "integrations", "sessions", "api_tokens", "team_members", "teams", "users"):
        op.drop_table(table, schema=S)
