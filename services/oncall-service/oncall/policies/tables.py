"""The `oncall.policies` table: escalation policies as configured (a running escalation keeps its own
frozen copy in `oncall.escalation_policies`). Created by the migration `policies_0001`."""

from sqlalchemy import CheckConstraint, Column, DateTime, Integer, String, Table, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from oncall.tables import metadata

policies = Table(
    "policies",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")),
    Column("name", String(200), nullable=False, unique=True),
    Column("team", String(200), unique=True),  # the team (incident service) whose incidents it governs
    # [{"delay_minutes": int, "targets": [{"type": "user" | "schedule" | "team", "id": str}]}]
    Column("steps", JSONB, nullable=False),
    Column("repeat", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("repeat BETWEEN 0 AND 10", name="policies_repeat"),
)
