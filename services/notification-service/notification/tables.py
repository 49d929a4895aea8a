"""Tables of the `notification` schema (created by the migrations in `migrations/versions`)."""

from sqlalchemy import Column, DateTime, Float, ForeignKey, Integer, MetaData, String, Table, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

SCHEMA = "notification"
metadata = MetaData(schema=SCHEMA)
_uuid_pk = {"primary_key": True, "server_default": text("gen_random_uuid()")}

# The outbox: one row per notification, `pending` until delivered (`sent`), given up on (`failed`) or no
# longer needed because its incident was acknowledged (`cancelled`). A worker sending it holds a lease
# (`platform_common.outbox`: `next_attempt_at` moved to the lease's end) instead of a lock: the row is
# free again if the worker dies. The `lease_until` and `lease_token` columns of migration 0002 are unused.
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
    Column("failing_since", DateTime(timezone=True)),  # when the first retry budget ran out
    Column("fallbacks", JSONB, nullable=False, server_default=text("'[]'::jsonb")),  # [{channel, recipient}], in order
    Column("fallback_of", UUID(as_uuid=True), ForeignKey(f"{SCHEMA}.notifications.id", ondelete="SET NULL")),
    Column("not_before", DateTime(timezone=True)),  # a delayed notification rule (apprise_0001); cancelled if acknowledged by then
    Column("destination", String(300)),  # where an attempt connects: its lane (lanes_0001, notification.lanes)
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

# What the incident's timeline must learn (`page_failing`, `page_failed`): an outbox of its own, retried
# until incident-management has it, so a failing page is never a secret.
timeline_reports = Table(
    "timeline_reports",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    Column("notification_id", UUID(as_uuid=True), ForeignKey(notifications.c.id, ondelete="CASCADE"), nullable=False),
    Column("incident_id", UUID(as_uuid=True), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("message", Text, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("sent_at", DateTime(timezone=True)),
)
