"""Tables of the people domain in the `oncall` schema (created by migration people_0001)."""

from sqlalchemy import Column, DateTime, ForeignKey, Integer, MetaData, String, Table, text
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData(schema="oncall")
_uuid_pk = {"primary_key": True, "server_default": text("gen_random_uuid()")}

# How a user can be reached: an email address, a webhook URL (Slack, Mattermost, ...) or an Apprise URL.
contact_methods = Table(
    "contact_methods",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    Column("user_id", UUID(as_uuid=True), ForeignKey("oncall.users.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(16), nullable=False),
    Column("address", String(2000), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
# When each contact method is used once a page starts: "email at once, chat after 5 minutes".
notification_rules = Table(
    "notification_rules",
    metadata,
    Column("id", UUID(as_uuid=True), **_uuid_pk),
    Column("user_id", UUID(as_uuid=True), ForeignKey("oncall.users.id", ondelete="CASCADE"), nullable=False),
    Column("contact_method_id", UUID(as_uuid=True), ForeignKey("oncall.contact_methods.id", ondelete="CASCADE"), nullable=False),
    Column("delay_minutes", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
