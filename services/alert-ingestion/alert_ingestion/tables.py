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
    # 'pending' until the alert has an incident, then 'correlated'; 'silenced' / 'dropped' (routing/): never.
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
    # The client's dedup_key (Events API, generic API): one firing alert per (integration_id, dedup_key);
    # a repeat while it fires is counted here instead of stored (see dedup.py).
    Column("dedup_key", String(255)),
    # The integration whose key sent the alert (Events API, generic API); it scopes dedup_key.
    Column("integration_id", UUID(as_uuid=True)),
    Column("repeat_count", Integer, nullable=False, server_default=text("0")),
    Column("last_repeated_at", DateTime(timezone=True)),
    # What the Events API sent beyond the alert itself: custom_details, links, images, client.
    Column("details", JSONB),
    # What decided its fate (routing/): the rule that matched, the silence or maintenance window that
    # silenced it, and its alert group beyond service + severity (NULL: the default grouping).
    Column("routing_rule_id", UUID(as_uuid=True)),
    Column("silence_id", UUID(as_uuid=True)),
    Column("maintenance_window_id", UUID(as_uuid=True)),
    Column("group_key", String(64)),
)

# Published by incident-management for exactly this read (see its migrations).
correlation_candidates = Table(
    "correlation_candidates",
    MetaData(schema="incident_management"),
    Column("id", UUID(as_uuid=True)),
    Column("service", String),
    Column("severity", String),
    Column("created_at", DateTime(timezone=True)),
    Column("group_key", String),
)
