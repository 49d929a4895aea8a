"""The HTTP contract every service shares, checked on bare apps with the shared wiring and on the real
services: request body limits (413), `Allow` on 405, `Retry-After` on 503, bounded list offsets and totals."""

import asyncio
import json
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError
from sqlalchemy import text

from platform_common.db import SessionDep, create_db_engine, create_session_factory
from platform_common.errors import RETRY_AFTER_SECONDS, install_error_handlers
from platform_common.http import ServiceClient
from platform_common.middleware import DEFAULT_MAX_BODY_BYTES, MAX_BODY_ENV, RequestMiddleware
from platform_common.pagination import MAX_OFFSET, TOTAL_COUNT_CAP, PageDep
from tests.support.apps import incident_app, ingestion_app, unreachable_url
from tests.support.servers import serve_in_thread

LIMIT = 1024


class Echo(BaseModel):
    text: str


def _bare_app(*, max_body_bytes: int | None = LIMIT) -> tuple[FastAPI, list[str]]:
    """The shared error handlers and middleware around a few routes; `handled` records each body accepted."""
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestMiddleware, max_body_bytes=max_body_bytes)
    handled: list[str] = []

    @app.post("/echo")
    def echo(body: Echo) -> Echo:
        handled.append(body.text)
        return body

    @app.post("/raw")
    async def raw(request: Request) -> int:
        return len(await request.body())

    @app.get("/things/{name}")
    def get_thing(name: str) -> str:
        return name

    @app.put("/things/{name}")
    def put_thing(name: str) -> str:
        return name

    @app.get("/peer")
    def peer() -> int:
        return ServiceClient("peer", unreachable_url(), retries=0, timeout=1).get("/x").status_code

    @app.get("/page")
    def page(page: PageDep) -> int:
        return page.offset

    @app.get("/db")
    def database(session: SessionDep) -> int:
        return session.execute(text("SELECT 1")).scalar_one()

    return app, handled


@pytest.fixture
def served() -> Iterator[tuple[str, list[str]]]:
    app, handled = _bare_app()
    with serve_in_thread(app) as url:
        yield url, handled


def _assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413
    assert response.json()["error"] == {"code": "payload_too_large", "message": f"Request body is larger than {LIMIT} bytes", "details": []}
    assert response.headers["x-request-id"]


# --- request body limit ------------------------------------------------------------------------------


def test_a_body_over_the_declared_limit_is_413_and_never_reaches_the_route(served):
    url, handled = served
    _assert_too_large(httpx.post(f"{url}/echo", json={"text": "x" * 2 * LIMIT}))
    assert handled == []
    at_limit = '{"text": "' + "x" * (LIMIT - 12) + '"}'
    assert len(at_limit) == LIMIT
    accepted = httpx.post(f"{url}/echo", content=at_limit, headers={"content-type": "application/json"})
    assert accepted.status_code == 200 and len(handled) == 1


def test_a_chunked_body_is_counted_as_it_streams_and_refused_past_the_limit(served):
    url, handled = served

    def chunks(count: int) -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(count):
            yield b"x" * 256
        yield b'"}'

    _assert_too_large(httpx.post(f"{url}/echo", content=chunks(8), headers={"content-type": "application/json"}))
    _assert_too_large(httpx.post(f"{url}/raw", content=chunks(8)))
    assert handled == []
    assert httpx.post(f"{url}/raw", content=chunks(2)).json() == 2 * 256 + 12


def test_the_limit_stops_reading_at_the_first_chunk_over_it():
    """ASGI level: a 100-chunk body is not read to the end (never held in memory) once it is too large."""
    app, _ = _bare_app()
    reads = 0

    async def receive() -> dict:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * 512, "more_body": reads < 100}

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/raw", "raw_path": b"/raw", "root_path": "", "query_string": b"", "headers": []}
    scope |= {"http_version": "1.1", "scheme": "http", "server": ("test", 80), "client": ("test", 1), "app": app}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert reads == LIMIT // 512 + 1


def test_the_limit_comes_from_the_environment_with_a_1_mib_default(monkeypatch):
    monkeypatch.delenv(MAX_BODY_ENV, raising=False)
    assert RequestMiddleware(FastAPI()).max_body_bytes == DEFAULT_MAX_BODY_BYTES == 1024 * 1024
    monkeypatch.setenv(MAX_BODY_ENV, "2048")
    assert RequestMiddleware(FastAPI()).max_body_bytes == 2048
    for bad in ("lots", "-1", "0"):
        monkeypatch.setenv(MAX_BODY_ENV, bad)
        with pytest.raises(ValueError, match=MAX_BODY_ENV):
            RequestMiddleware(FastAPI())


def test_a_real_service_refuses_a_body_over_1_mib_and_stores_nothing(database_url, clean_db, monkeypatch):
    monkeypatch.delenv(MAX_BODY_ENV, raising=False)
    alert = {"service": "checkout", "severity": "high", "message": "x" * DEFAULT_MAX_BODY_BYTES}
    with serve_in_thread(ingestion_app(database_url, unreachable_url())) as url:
        response = httpx.post(f"{url}/api/v1/alerts", json=alert)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    with clean_db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alert_ingestion.alerts")).scalar_one() == 0


# --- strict timestamps ------------------------------------------------------------------------------


@pytest.mark.parametrize("timestamp", [1770651000, 1770651000.5, "1770651000"])
def test_a_real_service_refuses_a_number_for_a_timestamp_and_stores_nothing(database_url, clean_db, timestamp):
    alert = {"service": "checkout", "severity": "high", "message": "5xx", "timestamp": timestamp}
    with TestClient(ingestion_app(database_url, unreachable_url())) as client:
        response = client.post("/api/v1/alerts", json=alert)
        assert client.post("/api/v1/alerts", json={**alert, "timestamp": "2026-02-09T15:30:00Z"}).status_code == 201
    assert response.status_code == 422
    assert [detail["field"] for detail in response.json()["error"]["details"]] == ["timestamp"]
    with clean_db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alert_ingestion.alerts")).scalar_one() == 1


@pytest.mark.parametrize("start", [0, 1770651000, "1770651000"])
def test_a_schedule_start_refuses_a_number_but_takes_a_date_or_a_datetime(start):
    from oncall.schemas import ScheduleCreate

    schedule = {"team": "t", "rotation_type": "daily", "members": [{"name": "Ann", "email": "ann@example.org"}]}
    with pytest.raises(ValidationError, match="ISO 8601 date-time string"):
        ScheduleCreate.model_validate_json(json.dumps({**schedule, "start": start}))
    assert ScheduleCreate.model_validate_json(json.dumps({**schedule, "start": "2026-06-01"})).start == date(2026, 6, 1)


# --- 405 Allow, 503 Retry-After ----------------------------------------------------------------------


def test_405_names_every_method_of_the_path_in_allow():
    client = TestClient(_bare_app()[0])
    response = client.delete("/things/a")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PUT"
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert client.request("OPTIONS", "/echo").headers["allow"] == "POST"


def test_405_on_a_real_service_carries_allow(database_url):
    with TestClient(incident_app(database_url)) as client:
        response = client.delete("/api/v1/incidents")
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, POST"
        assert response.json()["error"]["code"] == "method_not_allowed"


def test_every_503_carries_retry_after(database_url):
    client = TestClient(_bare_app()[0])
    client.app.state.session_factory = create_session_factory(create_db_engine("postgresql+psycopg://nobody:nothing@127.0.0.1:1/none"))
    for path in ("/peer", "/db"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.json()["error"]["code"] == "dependency_unavailable"
        assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)


# --- bounded lists -----------------------------------------------------------------------------------


def test_offsets_past_the_bound_are_422():
    client = TestClient(_bare_app()[0])
    assert client.get("/page", params={"offset": MAX_OFFSET}).json() == MAX_OFFSET
    response = client.get("/page", params={"offset": MAX_OFFSET + 1})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "offset"


def test_a_large_total_is_counted_up_to_the_cap_and_says_so(database_url, clean_db):
    with clean_db.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO incident_management.incidents (title, service, severity, status, created_at, updated_at) "
                "SELECT 'bulk ' || g, CASE WHEN g <= 3 THEN 'rare' ELSE 'bulk' END, 'low', 'open', now(), now() "
                "FROM generate_series(1, :rows) AS g"
            ),
            {"rows": TOTAL_COUNT_CAP + 1},
        )
    with TestClient(incident_app(database_url)) as client:
        everything = client.get("/api/v1/incidents", params={"limit": 1})
        assert everything.headers["x-total-count"] == str(TOTAL_COUNT_CAP)
        assert everything.headers["x-total-count-capped"] == "true"
        assert len(everything.json()) == 1
        rare = client.get("/api/v1/incidents", params={"service": "rare"})
        assert rare.headers["x-total-count"] == "3"
        assert "x-total-count-capped" not in rare.headers
