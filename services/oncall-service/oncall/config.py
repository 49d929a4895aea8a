"""oncall-service settings (environment variables of the same name, upper case)."""

from functools import lru_cache

from pydantic import Field, model_validator

from platform_common.recipients import PageChannels
from platform_common.settings import ServiceSettings, refuse_weak_secret


class Settings(ServiceSettings):
    incident_management_url: str = "http://127.0.0.1:8002"
    notification_service_url: str = "http://127.0.0.1:8004"
    # Channels an escalation page goes out on; each becomes one notification to the new assignee.
    page_channels: PageChannels = Field(default_factory=lambda: ["mock"])
    escalation_interval_seconds: float = 5.0
    # Workers that deliver claimed escalations side by side (each page and timeline event is a peer call,
    # slow while the platform is busy), besides the one that claims them; woken as soon as levels are claimed.
    escalation_delivery_workers: int = Field(default=8, ge=0, le=32)
    escalation_max_backoff_seconds: float = 60.0
    # How often schedules with handoff_notifications are checked for a new turn to announce.
    handoff_check_seconds: float = 30.0
    # oncall-service's address as callers see it, for the iCal feed URLs (default: the address asked).
    public_url: str | None = None
    # SPEC §10: an admin API token with exactly this value exists after start-up (optional).
    bootstrap_admin_token: str | None = None
    # SPEC §10: a first admin who can log in to the web UI (optional, both or neither).
    bootstrap_admin_email: str | None = None
    bootstrap_admin_password: str | None = None

    @model_validator(mode="after")
    def _strong_bootstrap_secrets(self) -> "Settings":
        if self.environment == "production":
            if self.bootstrap_admin_token is not None:
                refuse_weak_secret("BOOTSTRAP_ADMIN_TOKEN", self.bootstrap_admin_token)
            if self.bootstrap_admin_password is not None:
                refuse_weak_secret("BOOTSTRAP_ADMIN_PASSWORD", self.bootstrap_admin_password)
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
