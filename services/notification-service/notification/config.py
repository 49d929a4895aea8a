"""notification-service settings (environment variables of the same name, upper case).

SMTP_PASSWORD is a `SecretStr`: its value never appears in a repr, a log line or an error message.
"""

from functools import lru_cache

from pydantic import Field, SecretStr, field_validator, model_validator

from notification.egress import parse_allowed_hosts, url_problem
from platform_common.settings import ServiceSettings


class Settings(ServiceSettings):
    incident_management_url: str = "http://127.0.0.1:8002"
    # Webhook channel: a recipient that is not an http(s) URL (e.g. a person's name) is posted here.
    webhook_url: str | None = None
    # Hosts a webhook URL recipient may name: comma-separated `host` or `host:port` (WEBHOOK_URL's own
    # host and port are always allowed). A private, loopback or link-local address is refused unless
    # that address itself is listed.
    webhook_allowed_hosts: str = ""
    # Email channel: a real SMTP server.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "incident-platform@localhost"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    # Retries: the n-th failed attempt waits min(max, base * 2^(n-1)). After max attempts (the first
    # budget) a notification without a known incident is `failed`; a page of an open incident goes on
    # (at the capped backoff) until the incident is acknowledged, or for DELIVERY_GIVE_UP_SECONDS.
    delivery_retry_base_seconds: float = Field(default=5.0, ge=0)
    delivery_retry_max_seconds: float = Field(default=300.0, ge=0)
    delivery_max_attempts: int = Field(default=5, ge=1)
    delivery_give_up_seconds: float = Field(default=86400.0, gt=0)
    delivery_interval_seconds: float = Field(default=1.0, gt=0)
    # One attempt (connect, send, read the answer) is cut off after this long, however slowly a
    # receiver trickles bytes; several workers deliver side by side, each with a lease on its row.
    delivery_attempt_timeout_seconds: float = Field(default=10.0, gt=0)
    delivery_workers: int = Field(default=8, ge=1, le=64)
    # Lanes (notification.lanes): at most this many attempts to one destination (webhook host, SMTP relay)
    # run at once on a replica; a destination whose attempt ran longer than DELIVERY_STALL_SECONDS gets
    # one at a time for the next 5 minutes. The other workers keep delivering everyone else's pages.
    delivery_max_per_destination: int = Field(default=4, ge=1, le=64)
    delivery_stall_seconds: float = Field(default=2.0, gt=0)
    delivery_lease_seconds: float = Field(default=30.0, gt=0)
    # Finished notifications (and their attempts) older than this are removed by retention; pending ones
    # never are. 0 keeps them all.
    notification_retention_days: int = Field(default=90, ge=0)

    @field_validator("webhook_url", "smtp_username", "smtp_password", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """`WEBHOOK_URL=` in an env file means "not configured", not "post to the empty URL"."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url_is_plain_http(cls, value: str | None) -> str | None:
        if value is not None and (problem := url_problem(value)):
            raise ValueError(problem)
        return value

    @field_validator("webhook_allowed_hosts")
    @classmethod
    def _allowed_hosts_parse(cls, value: str) -> str:
        parse_allowed_hosts(value)  # raises ValueError naming the bad entry
        return value

    @model_validator(mode="after")
    def _lease_outlasts_an_attempt(self) -> "Settings":
        if self.delivery_lease_seconds <= self.delivery_attempt_timeout_seconds:
            raise ValueError("DELIVERY_LEASE_SECONDS must be longer than DELIVERY_ATTEMPT_TIMEOUT_SECONDS")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
