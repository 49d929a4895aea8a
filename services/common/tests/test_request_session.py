"""The per-request session (`platform_common.db.get_session`): every request gives its connection back
to the pool. A route that committed has its session closed on the event loop, with no thread hop; one
that left a transaction open has it rolled back in a worker thread. A rollback on a connection the
database dropped meanwhile is logged, and the answer stands. A read-only route's session
(`get_read_session`) reads in autocommit: no transaction, closed on the event loop, and the connection
it used goes back to transactions for the next session."""

import logging

import psycopg
import pytest
from fastapi import APIRouter, Request
from fastapi.testclient import TestClient
from sqlalchemy import text

from platform_common import db
from platform_common.app import create_service_app
from platform_common.auth.policy import PUBLIC, requires
from platform_common.db import ReadSessionDep, SessionDep
from platform_common.settings import ServiceSettings

router = APIRouter(dependencies=[requires(PUBLIC)])


@router.post("/commits")
def commits(session: SessionDep) -> dict[str, int]:
    value = session.execute(text("SELECT 1")).scalar_one()
    session.commit()
    return {"value": value}


@router.get("/reads")
def reads(session: SessionDep) -> dict[str, int]:
    return {"value": session.execute(text("SELECT 2")).scalar_one()}


def _state(session) -> dict[str, object]:
    """The backend serving the session and whether a transaction is open on it."""
    pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    status = session.connection().connection.dbapi_connection.info.transaction_status
    return {"pid": pid, "in_transaction": status != psycopg.pq.TransactionStatus.IDLE}


@router.get("/reads-only")
def reads_only(session: ReadSessionDep) -> dict[str, object]:
    return _state(session)


@router.get("/reads-in-a-transaction")
def reads_in_a_transaction(session: SessionDep) -> dict[str, object]:
    return _state(session)


@router.get("/loses-its-connection")
def loses_its_connection(session: SessionDep, request: Request) -> dict[str, int]:
    pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    url = request.app.state.settings.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (pid,))
    return {"value": 3}


@pytest.fixture
def client(database_url, monkeypatch):
    hops = []
    real = db.run_in_threadpool

    async def counted(function, *args):
        hops.append(function.__name__)
        return await real(function, *args)

    monkeypatch.setattr(db, "run_in_threadpool", counted)
    settings = ServiceSettings(database_url=database_url, migrate_on_start=False, environment="test", background_workers=False)
    app = create_service_app(service_name="demo", package="demo", settings=settings, routers=[router], description="demo")
    with TestClient(app) as test_client:
        test_client.hops = hops  # type: ignore[attr-defined]
        test_client.pool = app.state.engine.pool  # type: ignore[attr-defined]
        yield test_client


def test_a_committed_session_is_closed_without_a_thread_hop(client):
    assert client.post("/commits").json() == {"value": 1}
    assert client.hops == []
    assert client.pool.checkedout() == 0


def test_a_session_left_in_a_transaction_is_rolled_back_in_a_worker_thread(client):
    assert client.get("/reads").json() == {"value": 2}
    assert client.hops == ["_close"]
    assert client.pool.checkedout() == 0


def test_a_rollback_on_a_dropped_connection_is_logged_and_the_answer_stands(client, caplog):
    with caplog.at_level(logging.WARNING, logger="platform_common.db"):
        response = client.get("/loses-its-connection")
    assert response.status_code == 200
    assert response.json() == {"value": 3}
    assert "request session closed on a lost database connection" in caplog.text
    assert client.pool.checkedout() == 0
    assert client.get("/reads").json() == {"value": 2}  # the pool replaced the dropped connection


def test_a_read_only_session_opens_no_transaction_and_closes_without_a_thread_hop(client):
    assert client.get("/reads-only").json()["in_transaction"] is False
    assert client.hops == []
    assert client.pool.checkedout() == 0


def test_the_connection_a_read_only_session_used_goes_back_to_transactions(client):
    read_only = client.get("/reads-only").json()
    after = client.get("/reads-in-a-transaction").json()
    assert after["pid"] == read_only["pid"]  # the same pooled connection (the only one opened)
    assert after["in_transaction"] is True
    assert client.hops == ["_close"]
