"""Settings base class: configuration comes from the environment, defaults are for local use only."""

import os
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from platform_common.clock import OFFSET_FILE_ENV

LOCAL_DATABASE_PASSWORD = "incident"  # noqa: S105 - the documented local-only default, refused in production
DEFAULT_DATABASE_URL = f"postgresql+psycopg://incident:{LOCAL_DATABASE_PASSWORD}@127.0.0.1:55432/incident_platform"
# Passwords that ship in .env and in these defaults; production mode refuses them.
KNOWN_LOCAL_SECRETS = frozenset({LOCAL_DATABASE_PASSWORD, "postgres", "changeme", "admin", "password"})


class ServiceSettings(BaseSettings):
    """Settings every service shares. Subclass it per service and add that service's own fields."""

    model_config = SettingsConfigDict(extra="ignore")

    environment: Literal["local", "test", "production"] = "local"
    database_url: str = DEFAULT_DATABASE_URL
    db_pool_size: int = 10
    log_level: str = "INFO"
    migrate_on_start: bool = True
    background_workers: bool = True
    http_timeout_seconds: float = 2.0
    http_retries: int = 2

    @model_validator(mode="after")
    def _refuse_local_defaults_in_production(self) -> "ServiceSettings":
        if self.environment != "production":
            return self
        password = make_url(self.database_url).password
        if password is None or password in KNOWN_LOCAL_SECRETS:
            raise ValueError("production mode refuses the local default database password")
        if os.environ.get(OFFSET_FILE_ENV):
            raise ValueError(f"production mode refuses {OFFSET_FILE_ENV} (a test-only clock shift)")
        return self
