"""oncall-service test fixtures: the app on the real test database, a movable clock, a recording
notification-service stand-in and the real incident-management app, both over real HTTP, and escalation
engines wired to them."""

import copy
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Header, Request, Response
from fastapi.testclient import TestClient

from oncall.config import Settings
from oncall.engine import EscalationEngine
from oncall.main import create_app
from platform_common.clock import utcnow
from platform_common.db import create_db_engine, create_session_factory
from platform_common.http import ServiceClient
from tests.support.servers import free_port, serve_in_thread

UNREACHABLE = f"http://127.0.0.1:{free_port()}"
ENGINE_CHANNELS = ["webhook", "email"]


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values = {
        "database_url": database_url,
        "environment": "test",
        "background_workers": False,
        "incident_management_url": UNREACHABLE,
        "notification_service_url": UNREACHABLE,
        "http_retries": 0,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def client(database_url: str, clean_db) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(database_url))) as test_client:
        yield test_client


class Clock:
    """The engine's clock: real time plus whatever a test advanced it by."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


class NotificationStandIn:
    """Records pages like notification-service does: one per Idempotency-Key; can be switched off (503)."""

    def __init__(self) -> None:
        self.pages: list[dict[str, Any]] = []
        self.keys: set[str] = set()
        self.down = False
        self.app = FastAPI()
        self.app.post("/api/v1/notify")(self._notify)

    async def _notify(self, request: Request, idempotency_key: str | None = Header(None)) -> Response:
        if self.down:
            return Response(status_code=503)
        if idempotency_key in self.keys:
            return Response(status_code=200, content="{}", media_type="application/json")
        body = await request.json()
        if body.get("channel") == "rejected":
            return Response(status_code=422, content='{"error": "bad channel"}', media_type="application/json")
        self.keys.add(idempotency_key)
        self.pages.append({**body, "key": idempotency_key})
        return Response(status_code=201, content="{}", media_type="application/json")


@pytest.fixture
def notifier() -> Iterator[tuple[NotificationStandIn, str]]:
    stand_in = NotificationStandIn()
    with serve_in_thread(stand_in.app) as url:
        yield stand_in, url


@pytest.fixture
def incident_management(database_url: str, clean_db) -> Iterator[str]:
    """The real incident-management app over HTTP (peers unreachable, its pager worker off)."""
    from incident_management.config import Settings as IncidentSettings
    from incident_management.main import create_app as create_incident_app

    settings = IncidentSettings(
        database_url=database_url,
        environment="test",
        background_workers=False,
        http_retries=0,
        oncall_service_url=UNREACHABLE,
        notification_service_url=UNREACHABLE,
    )
    with serve_in_thread(create_incident_app(settings)) as url:
        yield url


@pytest.fixture
def api(database_url: str, incident_management: str, notifier) -> Iterator[TestClient]:
    """The oncall app wired to the real incident-management and the notification stand-in."""
    settings = make_settings(
        database_url, incident_management_url=incident_management, notification_service_url=notifier[1], page_channels=["webhook"]
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def make_engine(database_url: str, incident_management: str, notifier, clock: Clock) -> Iterator[Callable[..., EscalationEngine]]:
    """Builds engines the way a replica does: its own pool and HTTP clients, the test's clock, paging
    through the notification stand-in; `make_engine(incidents_url=..., channels=[...])` changes a peer or
    the channels."""
    built = []

    def make(incidents_url: str = incident_management, channels: list[str] = ENGINE_CHANNELS) -> EscalationEngine:
        db = create_db_engine(database_url, pool_size=2)
        clients = (
            ServiceClient("incident-management", incidents_url, retries=0, timeout=5),
            ServiceClient("notification-service", notifier[1], retries=0, timeout=5),
        )
        built.append((db, clients))
        return EscalationEngine(create_session_factory(db), *clients, channels, max_backoff_seconds=30, clock=clock)

    yield make
    for db, clients in built:
        for client in clients:
            client.close()
        db.dispose()


@pytest.fixture
def open_incident(incident_management: str):
    """Open an incident through the real API (assigned, so incident-management needs no oncall lookup)."""

    def create(team: str = "checkout-api", assigned_to: str = "Alice") -> dict[str, Any]:
        response = httpx.post(
            f"{incident_management}/api/v1/incidents",
            json={"title": f"{team} is down", "service": team, "severity": "critical", "assigned_to": assigned_to},
        )
        assert response.status_code == 201, response.text
        return response.json()

    return create


@pytest.fixture
def schedule_body() -> dict[str, Any]:
    return copy.deepcopy(SCHEDULE)


SCHEDULE = {
    "team": "checkout-api",
    "rotation_type": "daily",
    "timezone": "UTC",
    "handoff_time": "09:00",
    "escalation_minutes": 15,
    "members": [{"name": "Alice", "email": "alice@example.org"}, {"name": "Bob", "email": "bob@example.org"}],
    "escalation_levels": [{"name": "Erin", "email": "erin@example.org"}],
}


@pytest.fixture
def oncall_settings(database_url: str):
    """Build oncall-service settings on the test database: `oncall_settings(anonymous_role="none", ...)`."""
    return lambda **overrides: make_settings(database_url, **overrides)
