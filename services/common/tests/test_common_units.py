"""Unit tests of the shared package: severity vocabulary, clock, settings, HTTP client, worker."""

import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from platform_common import clock
from platform_common.http import PeerUnavailable, ServiceClient
from platform_common.settings import ServiceSettings
from platform_common.severity import Severity, normalise_severity
from platform_common.worker import PeriodicWorker, WorkerGroup


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("critical", Severity.CRITICAL),
        ("CRITICAL", Severity.CRITICAL),
        (" P1 ", Severity.CRITICAL),
        ("error", Severity.HIGH),
        ("p2", Severity.HIGH),
        ("warning", Severity.MEDIUM),
        ("P3", Severity.MEDIUM),
        ("info", Severity.LOW),
        ("P4", Severity.LOW),
        ("low", Severity.LOW),
    ],
)
def test_severity_aliases_normalise(given, expected):
    assert normalise_severity(given) == expected


@pytest.mark.parametrize("bad", ["urgent-ish", "", "P9", 3, None])
def test_unknown_severity_is_rejected(bad):
    with pytest.raises(ValueError, match="unknown severity"):
        normalise_severity(bad)


def test_clock_is_utc_and_follows_the_offset_file(tmp_path, monkeypatch):
    offset = tmp_path / "offset"
    monkeypatch.setenv(clock.OFFSET_FILE_ENV, str(offset))
    before = clock.utcnow()
    assert before.tzinfo is UTC
    offset.write_text("3600")
    shifted = clock.utcnow()
    assert shifted - before >= timedelta(seconds=3599)
    offset.write_text("garbage")
    assert clock.utcnow() - datetime.now(UTC) < timedelta(seconds=5)


PRODUCTION = {
    "environment": "production",
    "database_url": "postgresql+psycopg://app:s3cret-from-vault@db/app",
    "anonymous_role": "none",
    "service_token": "a-long-random-service-token-from-vault",
}


def test_production_accepts_its_own_secrets_and_no_anonymous_access(monkeypatch):
    monkeypatch.delenv(clock.OFFSET_FILE_ENV, raising=False)
    assert ServiceSettings(**PRODUCTION).environment == "production"


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"database_url": "postgresql+psycopg://incident:incident@db/app"}, "default database password"),
        ({"anonymous_role": "admin"}, "ANONYMOUS_ROLE=none"),
        ({"anonymous_role": "viewer"}, "ANONYMOUS_ROLE=none"),
        ({"service_token": "local-service-token"}, "SERVICE_TOKEN"),
        ({"service_token": "short-token"}, "SERVICE_TOKEN"),
    ],
)
def test_production_refuses_local_defaults_and_anonymous_access(monkeypatch, change, refusal):
    monkeypatch.delenv(clock.OFFSET_FILE_ENV, raising=False)
    with pytest.raises(ValueError, match=refusal):
        ServiceSettings(**{**PRODUCTION, **change})


def test_production_refuses_a_shifted_clock(monkeypatch, tmp_path):
    monkeypatch.setenv(clock.OFFSET_FILE_ENV, str(tmp_path / "offset"))
    with pytest.raises(ValueError, match="clock"):
        ServiceSettings(**PRODUCTION)


@respx.mock
def test_client_retries_transport_errors_then_succeeds():
    route = respx.get("http://peer/x").mock(side_effect=[httpx.ConnectError("down"), httpx.Response(200, json={"ok": True})])
    client = ServiceClient("peer", "http://peer", retries=2, backoff=0)
    assert client.get("/x").json() == {"ok": True}
    assert route.call_count == 2


@respx.mock
def test_client_gives_up_after_bounded_retries_with_peer_unavailable():
    route = respx.post("http://peer/x").mock(return_value=httpx.Response(503))
    client = ServiceClient("peer", "http://peer", retries=2, backoff=0)
    with pytest.raises(PeerUnavailable, match="HTTP 503"):
        client.post("/x", json={})
    assert route.call_count == 3


@respx.mock
def test_client_returns_client_errors_without_retrying():
    route = respx.get("http://peer/missing").mock(return_value=httpx.Response(404))
    client = ServiceClient("peer", "http://peer", retries=2, backoff=0)
    assert client.get("/missing").status_code == 404
    assert route.call_count == 1


def test_worker_survives_a_failing_cycle_and_wakes_on_demand():
    calls = []
    ran_twice = threading.Event()

    def step():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first cycle fails")
        ran_twice.set()

    worker = PeriodicWorker("test", 3600, step)
    worker.start()
    worker.wake()
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    while len(calls) < 1 and datetime.now(UTC) < deadline:
        threading.Event().wait(0.01)
    worker.wake()
    assert ran_twice.wait(10)
    worker.stop()
    assert len(calls) == 2


def test_a_worker_group_wakes_one_worker_at_a_time_in_turn():
    ran: list[str] = []
    done = threading.Semaphore(0)

    def step():
        ran.append(threading.current_thread().name)
        done.release()

    group = WorkerGroup("pager", 3, 3600, step)
    assert [worker.name for worker in group.workers] == ["pager-0", "pager-1", "pager-2"]
    for worker in group.workers:
        worker.start()
    for _ in range(4):
        group.wake()
        assert done.acquire(timeout=10)
    for worker in group.workers:
        worker.stop()
    assert ran == ["pager-0", "pager-1", "pager-2", "pager-0"]
