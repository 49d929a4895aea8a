"""Readiness tells the truth about background workers: a worker whose thread died, or whose cycle has
not finished within max(3 × interval, 30 s), makes `/ready` answer 503 naming it. The clock is injected."""

import threading
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from platform_common.app import create_service_app
from platform_common.settings import ServiceSettings
from platform_common.worker import MIN_STUCK_SECONDS, PeriodicWorker

WAIT = 10


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Died(BaseException):
    """Escapes the worker's per-cycle `except Exception`, as a thread-killing failure would."""


def _app(database_url: str, *workers: PeriodicWorker, background_workers: bool = True):
    settings = ServiceSettings(database_url=database_url, migrate_on_start=False, environment="test", background_workers=background_workers)
    return create_service_app(
        service_name="demo", package="demo", settings=settings, routers=[], description="demo", startup=lambda app: workers
    )


def _blocking_step(entered: threading.Event, release: threading.Event) -> Callable[[], None]:
    def step() -> None:
        entered.set()
        assert release.wait(WAIT)

    return step


def test_a_worker_stuck_in_a_cycle_makes_ready_503_until_it_finishes(database_url):
    clock, entered, release = FakeClock(), threading.Event(), threading.Event()
    worker = PeriodicWorker("escalation", 5, _blocking_step(entered, release), clock=clock)
    idle = PeriodicWorker("housekeeping", 300, lambda: None, clock=clock)
    with TestClient(_app(database_url, worker, idle)) as client:
        worker.wake()
        assert entered.wait(WAIT)
        clock.now += MIN_STUCK_SECONDS  # max(3 × 5 s, 30 s): exactly at the limit is still fine
        assert client.get("/ready").status_code == 200

        clock.now += 1
        response = client.get("/ready")
        assert response.status_code == 503
        assert response.headers["retry-after"]
        assert response.json()["error"]["details"] == [
            {"field": "worker:escalation", "message": "stuck: no cycle finished for 31 s (limit 30 s)", "type": "worker_unhealthy"}
        ]
        assert "worker:escalation stuck" in response.json()["error"]["message"]
        assert client.get("/health").status_code == 200  # liveness stays cheap and green

        finished = threading.Event()
        worker.step = lambda: finished.set()
        release.set()
        worker.wake()
        assert finished.wait(WAIT)
        # The blocked cycle, then the next one, each record their end on the (unmoved) clock.
        assert client.get("/ready").status_code == 200


def test_a_long_interval_worker_is_judged_on_three_intervals(database_url):
    clock = FakeClock()
    worker = PeriodicWorker("housekeeping", 300, lambda: None, clock=clock)
    with TestClient(_app(database_url, worker)) as client:
        clock.now += 900
        assert client.get("/ready").status_code == 200
        clock.now += 1
        assert "limit 900 s" in client.get("/ready").json()["error"]["details"][0]["message"]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_worker_thread_makes_ready_503(database_url):
    def step() -> None:
        raise Died

    worker = PeriodicWorker("delivery", 5, step)
    with TestClient(_app(database_url, worker)) as client:
        worker.wake()
        pause = threading.Event()
        for _ in range(WAIT * 100):  # the thread dies right after its first cycle starts
            if worker.problem() is not None:
                break
            pause.wait(0.01)
        response = client.get("/ready")
        assert response.status_code == 503
        assert response.json()["error"]["details"] == [
            {"field": "worker:delivery", "message": "dead: its thread has exited", "type": "worker_unhealthy"}
        ]


def test_workers_that_are_off_or_stopped_are_not_judged(database_url):
    clock = FakeClock()
    worker = PeriodicWorker("delivery", 5, lambda: None, clock=clock)
    with TestClient(_app(database_url, worker, background_workers=False)) as client:
        clock.now += 3600
        assert client.get("/ready").status_code == 200
    assert worker.problem() is None


def test_database_and_worker_problems_are_reported_together():
    clock, entered, release = FakeClock(), threading.Event(), threading.Event()
    worker = PeriodicWorker("pager", 5, _blocking_step(entered, release), clock=clock)
    with TestClient(_app("postgresql+psycopg://nobody:nothing@127.0.0.1:1/none", worker)) as client:
        worker.wake()
        assert entered.wait(WAIT)
        clock.now += 60
        details = client.get("/ready").json()["error"]["details"]
        release.set()
    assert [detail["field"] for detail in details] == ["database", "worker:pager"]
