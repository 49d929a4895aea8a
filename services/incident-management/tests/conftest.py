"""incident-management test app on the real test database, peers unreachable unless a test says so."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from incident_management.config import Settings
from incident_management.main import create_app
from tests.support.servers import free_port

UNREACHABLE = f"http://127.0.0.1:{free_port()}"


def make_settings(database_url: str, **overrides) -> Settings:
    values = {
        "database_url": database_url, "environment": "test", "background_workers": False,
        "oncall_service_url": UNREACHABLE, "notification_service_url": UNREACHABLE, "http_retries": 0,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def client(database_url: str, clean_db) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(database_url))) as test_client:
        yield test_client
