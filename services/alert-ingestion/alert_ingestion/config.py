"""alert-ingestion settings (environment variables of the same name, upper case)."""

from functools import lru_cache

from pydantic import Field

from platform_common.settings import ServiceSettings


class Settings(ServiceSettings):
    incident_management_url: str = "http://127.0.0.1:8002"
    # Connections of the asynchronous intake path (storing each alert); the rest uses DB_POOL_SIZE.
    intake_pool_size: int = 10
    # An alert joins an unresolved incident of the same service and severity created this recently.
    correlation_window_seconds: int = 300
    # How often stored-but-uncorrelated alerts (incident-management was down) are retried.
    pending_retry_seconds: float = 2.0
    # Resolve an incident once every one of its alerts is resolved at the source (Alertmanager, Grafana).
    auto_resolve_incidents: bool = True
    # Distinct `service` label values in metrics; further services are counted as service="other".
    metrics_max_services: int = 500
    # How often missed heartbeats are looked for (a miss is noticed at most this late).
    heartbeat_check_seconds: float = 1.0
    # Where callers reach this service (e.g. https://pager.example.org), for the ping URLs it hands out;
    # unset: the base URL of the request that created the heartbeat.
    public_url: str | None = None
    # Alerts received longer ago than this are removed by retention (never one still pending, still
    # firing under a fingerprint or dedup key, or whose resolution is not yet reported); 0 keeps them all.
    alert_retention_days: int = Field(default=90, ge=0)


@lru_cache
def get_settings() -> Settings:
    return Settings()
