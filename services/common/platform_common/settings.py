"""Settings base class: configuration comes from the environment, defaults are for local use only."""

import os
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from platform_common.clock import OFFSET_FILE_ENV

LOCAL_DATABASE_PASSWORD = "incident"  # noqa: S105 - the documented local-only default, refused in production
DEFAULT_DATABASE_URL = f"postgresql+psycopg://incident:{LOCAL_DATABASE_PASSWORD}@127.0.0.1:55432/incident_platform"
LOCAL_SERVICE_TOKEN = "local-service-token"  # noqa: S105 - the documented local-only default, refused in production
# Secrets that ship in .env and in these defaults; production mode refuses them.
KNOWN_LOCAL_SECRETS = frozenset({LOCAL_DATABASE_PASSWORD, LOCAL_SERVICE_TOKEN, "postgres", "changeme", "admin", "password"})
MIN_SECRET_LENGTH = 24


class ServiceSettings(BaseSettings):
    """Settings every service shares. Subclass it per service and add that service's own fields."""

    # hide_input_in_errors: a refusal names the setting, never echoes the (secret) values it was given.
    model_config = SettingsConfigDict(extra="ignore", hide_input_in_errors=True)

    environment: Literal["local", "test", "production"] = "local"
    database_url: str = DEFAULT_DATABASE_URL
    db_pool_size: int = 10
    log_level: str = "INFO"
    migrate_on_start: bool = True
    background_workers: bool = True
    http_timeout_seconds: float = 2.0
    http_retries: int = 2
    # What a request without credentials may do (SPEC §10). The local default keeps the seed's curl flow
    # working and is announced at start-up; production mode refuses anything but `none`.
    anonymous_role: Literal["none", "viewer", "responder", "admin"] = "admin"
    # The credential services present to each other (Bearer); local default refused in production.
    service_token: str = LOCAL_SERVICE_TOKEN
    # How long a resolved credential is trusted before it is looked up again (revocation delay).
    auth_cache_seconds: float = Field(default=2.0, ge=0, le=5)
    # How often retention (platform_common.retention) looks for rows older than a service's retention age.
    retention_interval_seconds: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _refuse_local_defaults_in_production(self) -> "ServiceSettings":
        if self.environment != "production":
            return self
        password = make_url(self.database_url).password
        if password is None or password in KNOWN_LOCAL_SECRETS:
            raise ValueError("production mode refuses the local default database password")
        if self.anonymous_role != "none":
            raise ValueError("production mode requires ANONYMOUS_ROLE=none")
        refuse_weak_secret("SERVICE_TOKEN", self.service_token)
        if os.environ.get(OFFSET_FILE_ENV):
            raise ValueError(f"production mode refuses {OFFSET_FILE_ENV} (a test-only clock shift)")
        return self


def refuse_weak_secret(name: str, value: str | None) -> None:
    """Production mode: a secret must be set, long enough and not one of the shipped local values."""
    if not value or value in KNOWN_LOCAL_SECRETS or len(value) < MIN_SECRET_LENGTH:
        raise ValueError(f"production mode refuses {name}: set a random value of at least {MIN_SECRET_LENGTH} characters")
