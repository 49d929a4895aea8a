"""The nonces of page links already used: a link acts once (the primary key refuses a second use).
One row per action a person took from a page, so the table stays small."""

from sqlalchemy import Column, DateTime, ForeignKey, String, Table
from sqlalchemy.dialects.postgresql import UUID

from incident_management.tables import incidents, metadata

used_page_links = Table(
    "used_page_links",
    metadata,
    Column("nonce", String(64), primary_key=True),
    Column("incident_id", UUID(as_uuid=True), ForeignKey(incidents.c.id, ondelete="CASCADE"), nullable=False),
    Column("action", String(16), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=False),
)
