"""Tables of the `oncall` schema (created by the migrations in `migrations/versions`)."""

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, MetaData, String, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

SCHEMA = "oncall"
metadata = MetaData(schema=SCHEMA)
_uuid_pk = {"primary_key": True, "server_default": text("gen_random_uuid()")}

schedules = Table(
    "schedules",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    Column("team", String(200), nullable=False, unique=True),
    Column("rotation_type", String(16), nullable=False),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("handoff_time", String(5), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("escalation_minutes", Integer, nullable=False),
    # Who is paged after the secondary, in order: [{"name", "email"}, ...].
    Column("escalation_levels", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The incoming primary is paged at each handoff (oncall/handoffs; layers_0001).
    Column("handoff_notifications", Boolean, nullable=False, server_default=text("false")),
)

members = Table(
    "schedule_members",
    metadata,
    Column("schedule_id", UUID(as_uuid=True), ForeignKey(schedules.c.id, ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("role", String(100)),
    Column("user_id", UUID(as_uuid=True)),  # a platform user (oncall.users), when the member is one
)

# Rotations on top of the schedule's own (layers_0001), in order: position 0 is just above it.
layers = Table(
    "schedule_layers",
    metadata,
    Column("schedule_id", UUID(as_uuid=True), ForeignKey(schedules.c.id, ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("rotation_type", String(16), nullable=False),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("handoff_time", String(5), nullable=False),
    # [{"name", "email", "user_id", "role"}, ...] in rotation order; a user's current name and email are read on load.
    Column("members", JSONB, nullable=False),
    # [{"days": ["mon", ...], "start": "09:00", "end": "18:00"}, ...]; empty: always on.
    Column("restrictions", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
)

overrides = Table(
    "overrides",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    Column("schedule_id", UUID(as_uuid=True), ForeignKey(schedules.c.id, ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("start_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# One row per incident once its escalation started: the policy frozen at that moment.
escalation_policies = Table(
    "escalation_policies",
    metadata,
    Column("incident_id", UUID(as_uuid=True), primary_key=True),
    Column("team", String(200), nullable=False),
    # A team's schedule: {"escalation_minutes": int, "levels": [{"name", "email"}, ...]}: level L is levels[L-1],
    # due L × escalation_minutes after creation. An escalation policy: {"policy_id", "name", "repeat", "levels":
    # [{"level", "after_minutes", "step", "round", "targets"}, ..., {"level", "after_minutes", "exhausted": true}]}.
    Column("snapshot", JSONB, nullable=False),
    Column("incident_created_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# One row per (incident, level): claimed once, then delivered (paged + recorded on the timeline).
escalations = Table(
    "escalations",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    Column("incident_id", UUID(as_uuid=True), ForeignKey(escalation_policies.c.incident_id, ondelete="CASCADE"), nullable=False),
    Column("team", String(200), nullable=False),
    Column("level", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("reason", Text, nullable=False),
    Column("manual", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    # Who this level pages, resolved when it is claimed: [{"name", "email", "user_id"}] (policies_0001).
    Column("recipients", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    # "step", or "exhausted": the policy ran out unacknowledged; the team's admins are told.
    Column("kind", String(16), nullable=False, server_default=text("'step'")),
)
