"""Tables of the `notification` schema (created by the migrations in `migrations/versions`)."""

from sqlalchemy import Column, DateTime, Float, ForeignKey, Integer, MetaData, String, Table, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import UUID

SCHEMA = "notification"
metadata = MetaData(schema=SCHEMA)
_uuid_pk = {"primary_key": True, "server_default": text("gen_random_uuid()")}

# The outbox: one row per notification, `pending` until delivered (`sent`) or given up on (`failed`).
notifications = Table(
    "notifications",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    Column("incident_id", UUID(as_uuid=True), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(2000), nullable=False),
    Column("message", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("idempotency_key", String(200), unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("next_attempt_at", DateTime(timezone=True)),
)

# Every delivery attempt with its outcome, in order.
attempts = Table(
    "notification_attempts",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    Column("notification_id", UUID(as_uuid=True), ForeignKey(notifications.c.id, ondelete="CASCADE"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("error", Text),
    Column("duration_seconds", Float, nullable=False),
    Column("attempted_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("notification_id", "attempt"),
)
