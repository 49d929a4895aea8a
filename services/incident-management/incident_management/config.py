"""incident-management settings (environment variables of the same name, upper case)."""

from functools import lru_cache

from pydantic import Field

from platform_common.pagelinks import PageLinkSettings
from platform_common.recipients import PageChannels


class Settings(PageLinkSettings):  # PAGE_LINK_SECRET, PAGE_LINK_TTL_SECONDS, PUBLIC_URL
    oncall_service_url: str = "http://127.0.0.1:8003"
    notification_service_url: str = "http://127.0.0.1:8004"
    # Channels a page goes out on; each becomes one notification to the assignee.
    page_channels: PageChannels = Field(default_factory=lambda: ["mock"])
    page_interval_seconds: float = 1.0
    # Workers that send pages side by side (each page asks oncall-service and notification-service); a new
    # incident wakes the next one in turn.
    pager_workers: int = Field(default=4, ge=1, le=32)
    page_max_backoff_seconds: float = 60.0
    # Distinct `service` label values in metrics; further services are counted as service="other".
    metrics_max_services: int = 500


@lru_cache
def get_settings() -> Settings:
    return Settings()
