"""The `heartbeats` table (created by migrations/versions/heartbeats_0001.py)."""

from sqlalchemy import Column, DateTime, Integer, String, Table, text
from sqlalchemy.dialects.postgresql import UUID

from alert_ingestion.tables import metadata

heartbeats = Table(
    "heartbeats",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")),
    Column("name", String(200), nullable=False, unique=True),
    Column("service", String(200), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("interval_seconds", Integer, nullable=False),
    Column("grace_seconds", Integer, nullable=False),
    # SHA-256 of the ping URL's secret (`iph_…`), which is shown once at creation.
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_ping_at", DateTime(timezone=True)),
    # Down without a ping by then: last ping (or creation) + interval + grace.
    Column("due_at", DateTime(timezone=True), nullable=False),
    # Set when the monitor claimed the miss and stored its alert; cleared by the next ping.
    Column("down_since", DateTime(timezone=True)),
    Column("alert_id", UUID(as_uuid=True)),
)
