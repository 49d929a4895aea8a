"""Tables of the identity domain in the `oncall` schema (created by migration identity_0001)."""

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, MetaData, String, Table, text
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData(schema="oncall")
_uuid_pk = {"primary_key": True, "server_default": text("gen_random_uuid()")}


def _user_fk() -> Column:
    return Column("user_id", UUID(as_uuid=True), ForeignKey("oncall.users.id", ondelete="CASCADE"), nullable=False)


users = Table(
    "users",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
teams = Table(
    "teams",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
team_members = Table(
    "team_members",
    metadata,
    Column("team_id", UUID(as_uuid=True), ForeignKey("oncall.teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", UUID(as_uuid=True), ForeignKey("oncall.users.id", ondelete="CASCADE"), primary_key=True),
)
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    _user_fk(),
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)
sessions = Table(
    "sessions",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    _user_fk(),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)
integrations = Table(
    "integrations",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("service", String(200)),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False),
    Column("source", String(100), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
