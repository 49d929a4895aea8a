"""Handoff notices in the `oncall` schema (created by migration layers_0001): one per team and turn start.

The row is the claim (UNIQUE(team, shift_start), inserted with ON CONFLICT DO NOTHING, so several replicas
announce a turn once) and the outbox entry its delivery is leased from (`platform_common.outbox`).
"""

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData(schema="oncall")

notices = Table(
    "handoff_notices",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")),
    Column("team", String(200), nullable=False),
    Column("shift_start", DateTime(timezone=True), nullable=False),
    Column("shift_end", DateTime(timezone=True), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("timezone", String(64), nullable=False),  # the schedule's, for the times in the message
    # pending → sent, failed (notification-service refused it) or expired (the turn ended first).
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    UniqueConstraint("team", "shift_start"),
)
