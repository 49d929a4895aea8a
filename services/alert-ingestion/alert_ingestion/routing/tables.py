"""Tables of routing and noise control, in the `alert_ingestion` schema (migration routing_0001)."""

from sqlalchemy import Boolean, Column, DateTime, Integer, String, Table, Text, Time, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from alert_ingestion.tables import metadata

_uuid_pk = {"primary_key": True, "server_default": text("gen_random_uuid()")}

# Ordered (position 1, 2, …); matchers are [{name, op, value}].
routing_rules = Table(
    "routing_rules",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    Column("position", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("integration_id", UUID(as_uuid=True)),
    Column("matchers", JSONB, nullable=False),
    Column("set_service", String(200)),
    Column("set_severity", String(16)),
    Column("drop", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

silences = Table(
    "silences",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    Column("matchers", JSONB, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# kind 'once': starts_at / ends_at; kind 'weekly': weekdays [0 = Monday …], start_time (local),
# duration_minutes, timezone (IANA). ended_at: ended early by DELETE.
maintenance_windows = Table(
    "maintenance_windows",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    Column("name", String(200), nullable=False),
    Column("service", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("starts_at", DateTime(timezone=True)),
    Column("ends_at", DateTime(timezone=True)),
    Column("weekdays", JSONB),
    Column("start_time", Time),
    Column("duration_minutes", Integer),
    Column("timezone", String(64)),
    Column("created_by", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
)

# Per-service grouping; a service without a row groups by service + severity within the default window.
grouping_policies = Table(
    "grouping_policies",
    metadata,
    Column("service", String(200), primary_key=True),
    Column("group_by", JSONB, nullable=False),
    Column("window_seconds", Integer),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
