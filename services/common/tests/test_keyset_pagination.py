"""Cursor pages of the newest-first lists (incidents, alerts): walking by `X-Next-Cursor` gives exactly the
rows the offsets give, in the same order, also when many rows share one timestamp; a bad cursor, or a
cursor with an offset, is a 422 in the platform's error shape. Real database, real apps."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from platform_common.errors import InvalidInput
from platform_common.pagination import NEXT_CURSOR_HEADER, Position
from tests.support.apps import incident_app, ingestion_app, unreachable_url

# 23 incidents of service `walk`: 5 timestamps, so most share theirs with others (the id orders those).
_INCIDENTS = (
    "INSERT INTO incident_management.incidents (title, service, severity, status, created_at, updated_at) "
    "SELECT 'walk ' || g, 'walk', CASE WHEN g % 2 = 0 THEN 'high' ELSE 'low' END, 'open', "
    "timestamptz '2026-03-01 12:00Z' + (g % 5) * interval '1 minute', now() FROM generate_series(1, 23) AS g"
)
_ALERTS = (
    "INSERT INTO alert_ingestion.alerts (service, severity, message, labels, timestamp, received_at, source, status) "
    "SELECT 'walk', 'high', 'alert ' || g, '{}', now(), timestamptz '2026-03-01 12:00Z' + (g % 4) * interval '1 second', "
    "'api', 'pending' FROM generate_series(1, 17) AS g"
)


def walk(client: TestClient, path: str, key: str, **params) -> list[str]:
    """Every row's id, following X-Next-Cursor from the first page."""
    ids: list[str] = []
    cursor = None
    while True:
        page = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        ids += [row[key] for row in page.json()]
        cursor = page.headers.get(NEXT_CURSOR_HEADER)
        if cursor is None:
            return ids


def by_offsets(client: TestClient, path: str, key: str, **params) -> list[str]:
    return [row[key] for row in client.get(path, params={**params, "limit": 500}).json()]


@pytest.fixture
def incidents(database_url: str, clean_db):
    with clean_db.begin() as connection:
        connection.execute(text(_INCIDENTS))
    with TestClient(incident_app(database_url)) as client:
        yield client


def test_walking_incidents_by_cursor_gives_every_row_once_in_order(incidents):
    everything = by_offsets(incidents, "/api/v1/incidents", "id", service="walk")
    assert len(everything) == 23
    assert walk(incidents, "/api/v1/incidents", "id", service="walk", limit=4) == everything
    high = walk(incidents, "/api/v1/incidents", "id", service="walk", severity="high", limit=3)
    assert high == by_offsets(incidents, "/api/v1/incidents", "id", service="walk", severity="high") and len(high) == 11


def test_a_cursor_page_keeps_the_total_and_the_last_page_has_no_cursor(incidents):
    first = incidents.get("/api/v1/incidents", params={"limit": 20})
    assert first.headers["x-total-count"] == "23"
    last = incidents.get("/api/v1/incidents", params={"limit": 20, "cursor": first.headers[NEXT_CURSOR_HEADER]})
    assert len(last.json()) == 3 and last.headers["x-total-count"] == "23"
    assert NEXT_CURSOR_HEADER not in last.headers


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not-a-cursor"},
        {"cursor": Position.encode(Position(at=datetime(2026, 3, 1, tzinfo=UTC), id=uuid4()))[:-3]},
        {"cursor": "MjAyNi0wMy0wMVQxMjowMDowMHxub3QtYS11dWlk"},  # "2026-03-01T12:00:00|not-a-uuid"
        {"cursor": Position(at=datetime(2026, 3, 1, tzinfo=UTC), id=uuid4()).encode(), "offset": 50},
    ],
)
def test_a_bad_cursor_or_a_cursor_with_an_offset_is_422(incidents, params):
    response = incidents.get("/api/v1/incidents", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert [detail["field"] for detail in response.json()["error"]["details"]] == ["cursor"]


def test_a_cursor_without_a_time_zone_is_refused():
    naive = Position(at=datetime(2026, 3, 1), id=uuid4()).encode()
    with pytest.raises(InvalidInput):
        Position.decode(naive)


def test_walking_alerts_by_cursor_gives_every_row_once_in_order(database_url, clean_db):
    with clean_db.begin() as connection:
        connection.execute(text(_ALERTS))
    with TestClient(ingestion_app(database_url, unreachable_url())) as client:
        everything = by_offsets(client, "/api/v1/alerts", "alert_id", service="walk")
        assert len(everything) == 17
        assert walk(client, "/api/v1/alerts", "alert_id", service="walk", limit=5) == everything
        assert walk(client, "/api/v1/alerts", "alert_id", status="pending", limit=16) == everything
