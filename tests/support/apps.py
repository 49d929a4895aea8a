"""Test instances of the services on the test database: background workers off (tests drive the
cycles with `run_once()`), peers unreachable unless a URL is given."""

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI

from tests.support.servers import free_port, serve_in_thread


def unreachable_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def incident_app(database_url: str, **overrides) -> FastAPI:
    from incident_management.config import Settings
    from incident_management.main import create_app

    values = {
        "database_url": database_url,
        "environment": "test",
        "background_workers": False,
        "http_retries": 0,
        "oncall_service_url": unreachable_url(),
        "notification_service_url": unreachable_url(),
    }
    return create_app(Settings(**{**values, **overrides}))


def ingestion_app(database_url: str, incident_management_url: str, **overrides) -> FastAPI:
    from alert_ingestion.config import Settings
    from alert_ingestion.main import create_app

    values = {
        "database_url": database_url,
        "environment": "test",
        "background_workers": False,
        "incident_management_url": incident_management_url,
        "http_retries": 0,
    }
    return create_app(Settings(**{**values, **overrides}))


@contextmanager
def incident_management(database_url: str, port: int | None = None, **overrides) -> Iterator[str]:
    """A real incident-management served over HTTP in this process; yields its base URL."""
    with serve_in_thread(incident_app(database_url, **overrides), port) as url:
        yield url
