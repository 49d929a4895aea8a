"""The shared app wiring on a real database: health, readiness, error shape, request ids, metrics."""

import gc

from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import create_engine, text

from platform_common.app import YOUNG_GENERATION_THRESHOLD, create_service_app
from platform_common.auth.policy import PUBLIC, requires
from platform_common.db import SessionDep, create_session_factory
from platform_common.errors import RETRY_AFTER_SECONDS, Conflict
from platform_common.settings import ServiceSettings

router = APIRouter(dependencies=[requires(PUBLIC)])


class Thing(BaseModel):
    name: str


@router.get("/one")
def one(session: SessionDep) -> int:
    return session.execute(text("SELECT 1")).scalar_one()


@router.post("/things")
def make_thing(thing: Thing) -> Thing:
    if thing.name == "taken":
        raise Conflict("that name is taken")
    return thing


def _app(database_url: str):
    settings = ServiceSettings(database_url=database_url, migrate_on_start=False, environment="test")
    return create_service_app(service_name="demo", package="demo", settings=settings, routers=[router], description="demo")


def test_start_up_objects_are_frozen_and_young_objects_collected_less_often(database_url):
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()
    with TestClient(_app(database_url)):
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, 10, 10)


def test_health_ready_and_metrics(database_url):
    with TestClient(_app(database_url)) as client:
        assert client.get("/health").json() == {"status": "ok", "service": "demo"}
        assert client.get("/ready").status_code == 200
        client.post("/things", json={"name": "a"})
        metrics = client.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        assert 'http_requests_total{method="POST",route="/things",status="200"}' in metrics.text
        assert "process_resident_memory_bytes" in metrics.text or "python_info" in metrics.text


def test_readiness_is_503_when_the_database_is_unreachable():
    with TestClient(_app("postgresql+psycopg://nobody:nothing@127.0.0.1:1/none")) as client:
        response = client.get("/ready")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "dependency_unavailable"
        assert response.json()["error"]["details"] == [{"field": "database", "message": "unreachable", "type": "database_unavailable"}]
        assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
        assert client.get("/health").status_code == 200


def test_errors_share_one_shape_and_carry_the_request_id(database_url):
    with TestClient(_app(database_url)) as client:
        invalid = client.post("/things", json={}, headers={"X-Request-ID": "req-123"})
        assert invalid.status_code == 422
        assert invalid.json()["error"]["details"][0]["field"] == "name"
        assert invalid.json()["request_id"] == "req-123"
        assert invalid.headers["x-request-id"] == "req-123"
        conflict = client.post("/things", json={"name": "taken"})
        assert conflict.status_code == 409
        assert conflict.json()["error"] == {"code": "conflict", "message": "that name is taken", "details": []}
        missing = client.get("/nowhere")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"


def test_an_exhausted_connection_pool_is_503_not_500(database_url):
    """Every pooled connection busy for longer than the pool timeout: the caller is told to retry."""
    app = _app(database_url)
    with TestClient(app) as client:
        busy = create_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.1)
        app.state.session_factory = create_session_factory(busy)
        held = busy.connect()
        try:
            response = client.get("/one")
        finally:
            held.close()
            busy.dispose()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "dependency_unavailable"
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
