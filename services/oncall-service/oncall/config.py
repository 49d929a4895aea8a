"""oncall-service settings (environment variables of the same name, upper case)."""

from functools import lru_cache

from pydantic import Field

from platform_common.settings import ServiceSettings


class Settings(ServiceSettings):
    incident_management_url: str = "http://127.0.0.1:8002"
    notification_service_url: str = "http://127.0.0.1:8004"
    # Channels an escalation page goes out on; each becomes one notification to the new assignee.
    page_channels: list[str] = Field(default_factory=lambda: ["mock"])
    escalation_interval_seconds: float = 5.0
    escalation_max_backoff_seconds: float = 60.0


@lru_cache
def get_settings() -> Settings:
    return Settings()
