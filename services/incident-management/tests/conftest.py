"""incident-management test app on the real test database, peers unreachable unless a test says so."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.support.apps import incident_app


@pytest.fixture
def client(database_url: str, clean_db) -> Iterator[TestClient]:
    with TestClient(incident_app(database_url)) as test_client:
        yield test_client
