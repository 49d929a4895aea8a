"""`make run` survives crashes: the real runner (python -m platform_local.run) on free ports and a
scratch `.local`, then `kill -9` of a service and of nginx, an operator's fast shutdown of PostgreSQL and
a `kill -9` of its postmaster. Each comes back by itself, everything else keeps its process (the
platform never stopped), and SIGINT (Ctrl-C) then stops every process. Recovery times are printed."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from platform_local.postgres import LocalPostgres
from platform_local.stack import ROOT, SERVICES, port_env
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e


def wait_for(check, what: str, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def children(parent: int) -> dict[str, int]:
    """The runner's live children by role: the service package, nginx, postgres, prometheus, alertmanager
    (an exited child that is not reaped yet is left out)."""
    listing = subprocess.run(["ps", "-ww", "-o", "pid=,stat=,args=", "--ppid", str(parent)], capture_output=True, text=True).stdout
    roles = {}
    for line in listing.splitlines():
        pid, state, args = line.split(None, 2)
        if state.startswith("Z"):
            continue
        role = next((spec.name for spec in SERVICES if f"{spec.package}.main:app" in args), None)
        role = role or next((name for name in ("nginx", "postgres", "prometheus-alertmanager", "prometheus") if name in args), None)
        if role is not None:  # a short-lived helper process (e.g. during a restart) has no role
            roles[role] = int(pid)
    return roles


class Runner:
    def __init__(self, local: Path) -> None:
        self.local = local
        self.ports = {port_env(spec): free_port() for spec in SERVICES}
        self.ports |= {name: free_port() for name in ("WEB_UI_PORT", "PROMETHEUS_PORT", "ALERTMANAGER_PORT", "LOCAL_PG_PORT")}
        self.output = local / "runner.out"
        self.process: subprocess.Popen | None = None

    def url(self, variable: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[variable]}{path}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.endswith("_URL")}
        env |= {name: str(port) for name, port in self.ports.items()}
        env |= {"PLATFORM_LOCAL_DIR": str(self.local), "PYTHONPATH": str(ROOT / "scripts"), "ENVIRONMENT": "test"}
        self.local.mkdir(parents=True, exist_ok=True)
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "platform_local.run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        wait_for(lambda: "The platform is running" in self.log() or self.process.poll() is not None, "the platform to start", 180)
        assert self.process.poll() is None, self.log()

    def log(self) -> str:
        return self.output.read_text()


@pytest.fixture
def runner() -> Iterator[Runner]:
    # Not under pytest's tmp_path: the postgres user must reach the folder, and the path stays short.
    local = Path(tempfile.mkdtemp(prefix="make-run-test-"))
    runner = Runner(local)
    try:
        runner.start()
        yield runner
    finally:
        if runner.process and runner.process.poll() is None:
            runner.process.send_signal(signal.SIGTERM)
            runner.process.wait(timeout=60)
        shutil.rmtree(local, ignore_errors=True)


def recovered(runner: Runner, role: str, health: str, before: dict[str, int]) -> None:
    """Wait until `role` runs as a new process, then until `health` answers; prints how long each took."""
    started = time.monotonic()
    wait_for(lambda: children(runner.process.pid).get(role, before[role]) != before[role], f"{role} to be restarted")
    restarted = time.monotonic() - started
    wait_for(lambda: answers(health), f"{role} to serve again")
    print(f"{role}: restarted after {restarted:.1f}s, {health} answering after {time.monotonic() - started:.1f}s")


def test_make_run_restarts_whatever_crashes_and_keeps_the_rest_running(runner: Runner):
    before = children(runner.process.pid)
    assert set(before) == {*(spec.name for spec in SERVICES), "nginx", "postgres", "prometheus", "prometheus-alertmanager"}
    health = {spec.name: runner.url(port_env(spec), "/ready") for spec in SERVICES}

    # kill -9 of a service: restarted; nothing else moved.
    os.kill(before["alert-ingestion"], signal.SIGKILL)
    recovered(runner, "alert-ingestion", health["alert-ingestion"], before)
    after = children(runner.process.pid)
    assert {role: pid for role, pid in after.items() if role != "alert-ingestion"} == {
        role: pid for role, pid in before.items() if role != "alert-ingestion"
    }
    created = httpx.post(
        runner.url("ALERT_INGESTION_PORT", "/api/v1/alerts"), json={"service": "checkout", "severity": "high", "message": "after a crash"}
    )
    assert created.status_code == 201, created.text

    # kill -9 of nginx's master: its orphaned worker is cleaned up and a new nginx serves the gateway.
    before = after
    os.kill(before["nginx"], signal.SIGKILL)
    recovered(runner, "nginx", runner.url("WEB_UI_PORT", "/health"), before)
    assert answers(runner.url("WEB_UI_PORT", "/api/v1/incidents"))

    # An operator's fast shutdown of PostgreSQL, then a kill -9 of its postmaster: back each time, and
    # the services ride it out in their own processes (ready again without a restart).
    postgres = LocalPostgres(runner.local / "pg", runner.ports["LOCAL_PG_PORT"])
    for stop in ("fast shutdown", "kill -9"):
        before = children(runner.process.pid)
        if stop == "fast shutdown":
            postgres.stop()  # pg_ctl stop -m fast
        else:
            os.kill(before["postgres"], signal.SIGKILL)
        recovered(runner, "postgres", health["incident-management"], before)
        wait_for(lambda: all(answers(url) for url in health.values()), "every service to be ready again")
        after = children(runner.process.pid)
        assert {role: after[role] for role in health} == {role: before[role] for role in health}, "no service was restarted"

    listed = httpx.get(runner.url("ALERT_INGESTION_PORT", "/api/v1/alerts"), params={"service": "checkout"}).json()
    assert [alert["message"] for alert in listed] == ["after a crash"], "data written before the restarts is still there"
    log = runner.log()
    for role in ("alert-ingestion", "web-ui", "postgres"):
        assert f"[supervisor] {role} restarted" in log, role

    # Ctrl-C: everything stops, nothing is left behind.
    last = children(runner.process.pid)
    runner.process.send_signal(signal.SIGINT)
    assert runner.process.wait(timeout=60) == 0
    assert runner.log().rstrip().endswith("Stopped.")
    for role, pid in last.items():
        wait_for(lambda pid=pid: not Path(f"/proc/{pid}").exists(), f"{role} to be gone after Ctrl-C", 20)
