"""Feed secrets in the `oncall` schema (created by migration ical_0001): one per schedule, one per user.

Only the SHA-256 digest of a feed's secret is stored; rotating replaces it, so the old URL stops working.
"""

from sqlalchemy import Column, DateTime, ForeignKey, MetaData, String, Table
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData(schema="oncall")

schedule_feed_tokens = Table(
    "schedule_ical_tokens",
    metadata,
    Column("schedule_id", UUID(as_uuid=True), ForeignKey("oncall.schedules.id", ondelete="CASCADE"), primary_key=True),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
user_feed_tokens = Table(
    "user_ical_tokens",
    metadata,
    Column("user_id", UUID(as_uuid=True), ForeignKey("oncall.users.id", ondelete="CASCADE"), primary_key=True),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
