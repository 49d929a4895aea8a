"""alert-ingestion settings (environment variables of the same name, upper case)."""

from functools import lru_cache

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


@lru_cache
def get_settings() -> Settings:
    return Settings()
