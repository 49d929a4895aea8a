"""alert-ingestion served over real HTTP next to a real incident-management, both on the test database."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from alert_ingestion.config import Settings
from alert_ingestion.main import create_app
from incident_management.config import Settings as IncidentSettings
from incident_management.main import create_app as create_incident_app
from tests.support.servers import free_port, serve_in_thread


def ingestion_app(database_url: str, incident_management_url: str, **overrides):
    values = {"database_url": database_url, "environment": "test", "background_workers": False,
              "incident_management_url": incident_management_url, "http_retries": 0}
    return create_app(Settings(**{**values, **overrides}))


@contextmanager
def incident_management(database_url: str, port: int | None = None) -> Iterator[str]:
    unreachable = f"http://127.0.0.1:{free_port()}"
    settings = IncidentSettings(database_url=database_url, environment="test", background_workers=False,
                                oncall_service_url=unreachable, notification_service_url=unreachable, http_retries=0)
    with serve_in_thread(create_incident_app(settings), port) as url:
        yield url


@pytest.fixture
def incidents_url(database_url, clean_db) -> Iterator[str]:
    with incident_management(database_url) as url:
        yield url


@pytest.fixture
def alerts_url(database_url, incidents_url) -> Iterator[str]:
    with serve_in_thread(ingestion_app(database_url, incidents_url)) as url:
        yield url
