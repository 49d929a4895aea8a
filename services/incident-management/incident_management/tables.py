"""Tables of the `incident_management` schema (created by the migrations in `migrations/versions`)."""

from sqlalchemy import BigInteger, Column, DateTime, Float, ForeignKey, Identity, Integer, MetaData, Numeric, String, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

SCHEMA = "incident_management"
metadata = MetaData(schema=SCHEMA)
_uuid_pk = {"primary_key": True, "server_default": text("gen_random_uuid()")}

incidents = Table(
    "incidents",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    Column("title", Text, nullable=False),
    Column("service", String(200), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("assigned_to", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("acknowledged_at", DateTime(timezone=True)),
    Column("resolved_at", DateTime(timezone=True)),
    Column("mtta_seconds", Float),
    Column("mttr_seconds", Float),
    Column("idempotency_key", String(200), unique=True),
    # The alert group it was opened for (alert-ingestion's grouping); NULL: service + severity.
    Column("group_key", String(64)),
)

notes = Table(
    "incident_notes",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    Column("incident_id", UUID(as_uuid=True), ForeignKey(incidents.c.id, ondelete="CASCADE"), nullable=False),
    Column("author", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

timeline = Table(
    "timeline_events",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    Column("incident_id", UUID(as_uuid=True), ForeignKey(incidents.c.id, ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("message", Text, nullable=False),
    Column("data", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Set by the service that reported the event (unique per incident): a replay returns this event.
    Column("idempotency_key", String(200)),
)

# Signed deltas of the incidents per (status, severity), appended by triggers on `incidents` and folded
# by `counts.fold` (migration counts_0001): their sums equal a GROUP BY over the incidents.
incident_counts = Table(
    "incident_counts",
    metadata,
    Column("status", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("incidents", BigInteger, nullable=False),
    Column("mtta_sum", Numeric, nullable=False),
    Column("mtta_count", BigInteger, nullable=False),
    Column("mttr_sum", Numeric, nullable=False),
    Column("mttr_count", BigInteger, nullable=False),
)

# Outbox of pages: written in the same transaction as the incident, delivered by the pager worker.
pages = Table(
    "pages",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    Column("incident_id", UUID(as_uuid=True), ForeignKey(incidents.c.id, ondelete="CASCADE"), nullable=False),
    Column("recipient", String(320)),
    Column("reason", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
)

# Published by alert-ingestion for exactly this read: the alerts linked to an incident.
incident_alerts = Table(
    "incident_alerts",
    MetaData(schema="alert_ingestion"),
    Column("alert_id", UUID(as_uuid=True)),
    Column("incident_id", UUID(as_uuid=True)),
    Column("service", String),
    Column("severity", String),
    Column("message", Text),
    Column("labels", JSONB),
    Column("status", String),
    Column("timestamp", DateTime(timezone=True)),
    Column("received_at", DateTime(timezone=True)),
)
