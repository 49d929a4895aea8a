"""alert-ingestion served over real HTTP next to a real incident-management, both on the test database."""

from collections.abc import Iterator

import pytest

from tests.support.apps import incident_management, ingestion_app
from tests.support.servers import serve_in_thread


@pytest.fixture
def incidents_url(database_url, clean_db) -> Iterator[str]:
    with incident_management(database_url) as url:
        yield url


@pytest.fixture
def alerts_url(database_url, incidents_url) -> Iterator[str]:
    with serve_in_thread(ingestion_app(database_url, incidents_url)) as url:
        yield url
