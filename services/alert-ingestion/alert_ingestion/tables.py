"""Tables of the `alert_ingestion` schema (created by the migrations in `migrations/versions`)."""

from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, String, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

SCHEMA = "alert_ingestion"
metadata = MetaData(schema=SCHEMA)

alerts = Table(
    "alerts",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")),
    Column("service", String(200), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("labels", JSONB, nullable=False),
    Column("timestamp", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("source", String(32), nullable=False),
    Column("fingerprint", String(200)),
    Column("incident_id", UUID(as_uuid=True)),
    # 'pending' until the alert has an incident, then 'correlated'.
    Column("status", String(16), nullable=False),
    Column("action", String(40)),
    Column("correlated_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("resolved_at", DateTime(timezone=True)),
    # Resolved at the source, not yet reported to its incident (see resolution.py).
    Column("resolution_pending", Boolean, nullable=False, server_default=text("false")),
    # The client's Idempotency-Key (unique): a retried POST returns this alert instead of storing another.
    Column("idempotency_key", String(200)),
)

# Published by incident-management for exactly this read (see its migrations).
correlation_candidates = Table(
    "correlation_candidates",
    MetaData(schema="incident_management"),
    Column("id", UUID(as_uuid=True)),
    Column("service", String),
    Column("severity", String),
    Column("created_at", DateTime(timezone=True)),
)
