"""notification-service tests: the app on the real test database, a real HTTP receiver for webhooks,
a real SMTP server (aiosmtpd) for email, and a clock the test moves by hand."""

import asyncio
import email
import email.policy
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from notification.config import Settings
from notification.main import create_app
from platform_common.clock import utcnow
from tests.support.apps import incident_management, unreachable_url
from tests.support.servers import free_port, serve_in_thread

UNREACHABLE_SMTP_PORT = free_port()
INCIDENT = "6f1c1c8e-6a57-4a55-9d7e-0c2f1b0e9a11"


class FakeClock:
    """The time the service sees; a test moves it forward instead of sleeping."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Receiver:
    """A webhook receiver over real HTTP. It records every request and answers `status`."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.delay = 0.0
        self.app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        self.url = ""

    async def _hook(self, request: Request):
        body = await request.json()
        if self.delay:
            await asyncio.sleep(self.delay)  # a slow receiver keeps the sender busy (concurrency tests)
        self.requests.append({"json": body, "headers": dict(request.headers), "status": self.status})
        if self.status >= 300:
            return JSONResponse({"error": "receiver failing"}, status_code=self.status)
        return PlainTextResponse("ok")

    @property
    def delivered(self) -> list[dict[str, Any]]:
        return [r["json"] for r in self.requests if r["status"] < 300]


class Inbox:
    """aiosmtpd handler: keeps every accepted message; refuses the addresses in `refuse` with 550."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted"


SMTP_USER, SMTP_PASSWORD = "notifier", "s3cret-smtp-pass"


def _authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


def make_settings(database_url: str, **overrides) -> Settings:
    values = {
        "database_url": database_url,
        "environment": "test",
        "background_workers": False,
        "smtp_port": UNREACHABLE_SMTP_PORT,
        "smtp_timeout_seconds": 2.0,
        "delivery_attempt_timeout_seconds": 2.0,
        "webhook_allowed_hosts": "127.0.0.1",  # the receivers of these tests listen on loopback
        "incident_management_url": unreachable_url(),  # down unless a test starts one
        "http_retries": 0,
        "delivery_retry_base_seconds": 10.0,
        "delivery_retry_max_seconds": 60.0,
        "delivery_max_attempts": 5,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@contextmanager
def _running_receiver(port: int | None = None) -> Iterator[Receiver]:
    recv = Receiver()
    with serve_in_thread(recv.app, port=port) as base_url:
        recv.url = f"{base_url}/hook"
        yield recv


@pytest.fixture
def start_receiver() -> Callable[..., AbstractContextManager[Receiver]]:
    """Start a receiver later in a test, e.g. on the port of one that was down: `with start_receiver(port) as r`."""
    return _running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with _running_receiver() as recv:
        yield recv


class Incidents:
    """A real incident-management on the test database, over HTTP: open, acknowledge, read the timeline."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10)

    def open(self, title: str = "checkout 5xx") -> str:
        response = self.http.post("/api/v1/incidents", json={"title": title, "service": "checkout", "severity": "high"})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def acknowledge(self, incident_id: str) -> None:
        assert self.http.patch(f"/api/v1/incidents/{incident_id}", json={"status": "acknowledged"}).status_code == 200

    def events(self, incident_id: str, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.http.get(f"/api/v1/incidents/{incident_id}/timeline").json() if e["kind"] == kind]


@contextmanager
def _running_incidents(database_url: str, port: int | None = None) -> Iterator[Incidents]:
    with incident_management(database_url, port) as url:
        incidents = Incidents(url)
        try:
            yield incidents
        finally:
            incidents.http.close()


@pytest.fixture
def incidents(database_url: str, clean_db) -> Iterator[Incidents]:
    """A running incident-management (its peers unreachable: incidents open unassigned, pages wait)."""
    with _running_incidents(database_url) as running:
        yield running


@pytest.fixture
def start_incidents(database_url: str, clean_db) -> Callable[..., AbstractContextManager[Incidents]]:
    """Start incident-management later in a test, e.g. on the port where it was down: `with start_incidents(port) as im`."""
    return lambda port=None: _running_incidents(database_url, port)


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), auth_require_tls=False, authenticator=_authenticator)
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def make_client(database_url: str, clean_db, clock: FakeClock) -> Iterator[Callable[..., TestClient]]:
    """Start a notification-service app (as many as a test needs: replicas, restarts) on the test database."""
    with ExitStack() as stack:

        def make(**overrides) -> TestClient:
            return stack.enter_context(TestClient(create_app(make_settings(database_url, **overrides), clock=clock)))

        yield make


@pytest.fixture
def client(make_client) -> TestClient:
    return make_client()


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _deliver(client: TestClient) -> int:
    return client.app.state.dispatcher.deliver_due()


def _notify(client: TestClient, *, key: str | None = None, **body) -> dict[str, Any]:
    payload = {"incident_id": INCIDENT, "channel": "mock", "recipient": "alice", "message": "disk full", **body}
    response = client.post("/api/v1/notify", json=payload, headers={"Idempotency-Key": key} if key else {})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def metric() -> Callable[..., float]:
    """Current value of a Prometheus sample in this process, e.g. metric("notifications_sent_total", channel=..., status=...)."""
    return _sample


@pytest.fixture
def deliver() -> Callable[[TestClient], int]:
    """One cycle of an app instance's delivery worker; returns the attempts made."""
    return _deliver


@pytest.fixture
def notify() -> Callable[..., dict[str, Any]]:
    """POST /api/v1/notify (mock to alice unless overridden), asserting 201; returns the record."""
    return _notify
