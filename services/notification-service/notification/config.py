"""notification-service settings (environment variables of the same name, upper case).

SMTP_PASSWORD is a `SecretStr`: its value never appears in a repr, a log line or an error message.
"""

from functools import lru_cache

from pydantic import Field, SecretStr, field_validator

from platform_common.settings import ServiceSettings


class Settings(ServiceSettings):
    # Webhook channel: a recipient that is not an http(s) URL (e.g. a person's name) is posted here.
    webhook_url: str | None = None
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    # Email channel: a real SMTP server.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "incident-platform@localhost"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    # Retries: the n-th failed attempt waits min(max, base * 2^(n-1)); after max attempts -> failed.
    delivery_retry_base_seconds: float = Field(default=5.0, ge=0)
    delivery_retry_max_seconds: float = Field(default=300.0, ge=0)
    delivery_max_attempts: int = Field(default=5, ge=1)
    delivery_interval_seconds: float = Field(default=1.0, gt=0)

    @field_validator("webhook_url", "smtp_username", "smtp_password", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """`WEBHOOK_URL=` in an env file means "not configured", not "post to the empty URL"."""
        return None if isinstance(value, str) and not value.strip() else value


@lru_cache
def get_settings() -> Settings:
    return Settings()
