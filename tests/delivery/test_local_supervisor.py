"""`make run`'s supervisor (scripts/platform_local/supervisor.py) on real child processes, with the clock
moved by the test: a killed child is restarted after its backoff and the others are untouched; the
backoff doubles up to its cap and resets after a stable run; leftovers of a child's process group are
killed; stop() ends everything, killing what ignores its stop signal."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from platform_local.supervisor import Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sleeper() -> subprocess.Popen:
    return subprocess.Popen(SLEEPER, start_new_session=True)


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for its new parent to reap it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_until(check, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def supervised():
    clock, lines = Clock(), []
    supervisor = Supervisor(clock=clock, log=lines.append, initial_backoff=0.5, max_backoff=10, stable_after=30)
    yield supervisor, clock, lines
    supervisor.stop(timeout=5)


def kill(supervisor: Supervisor, name: str) -> int:
    process = supervisor.children[name].process
    process.send_signal(signal.SIGKILL)
    process.wait()
    return process.pid


def test_a_killed_child_is_restarted_after_its_backoff_and_the_others_are_untouched(supervised):
    supervisor, clock, lines = supervised
    first = supervisor.start("alert-ingestion", sleeper)
    other = supervisor.start("oncall-service", sleeper)

    kill(supervisor, "alert-ingestion")
    clock.now += 5
    supervisor.check()
    assert lines == [f"[supervisor] alert-ingestion (pid {first.pid}) exited with -9 after 5.0s; restarting in 0.5s"]
    clock.now += 0.4
    supervisor.check()
    assert supervisor.children["alert-ingestion"].process is first, "not before the backoff has passed"

    clock.now += 0.1
    supervisor.check()
    restarted = supervisor.children["alert-ingestion"].process
    assert restarted is not first and restarted.poll() is None and alive(restarted.pid)
    assert lines[-1] == f"[supervisor] alert-ingestion restarted (pid {restarted.pid}, restart #1)"
    assert supervisor.children["oncall-service"].process is other and alive(other.pid), "the other child kept running"
    assert supervisor.children["oncall-service"].restarts == 0


def test_a_child_that_exits_cleanly_is_restarted_too(supervised):
    """An operator's `pg_ctl stop -m fast` ends PostgreSQL with exit code 0: the platform needs it back."""
    supervisor, clock, lines = supervised
    supervisor.start("postgres", lambda: subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True))
    supervisor.children["postgres"].process.wait()
    supervisor.check()
    assert "exited with 0" in lines[-1]
    clock.now += 0.5
    supervisor.check()
    assert supervisor.children["postgres"].restarts == 1


def test_backoff_doubles_to_its_cap_and_resets_after_a_stable_run(supervised):
    supervisor, clock, _ = supervised
    supervisor.start("notification-service", sleeper)
    delays = []
    for _ in range(7):  # crashes right after each start
        kill(supervisor, "notification-service")
        supervisor.check()
        delays.append(supervisor.children["notification-service"].restart_at - clock.now)
        clock.now = supervisor.children["notification-service"].restart_at
        supervisor.check()
    assert delays == [0.5, 1, 2, 4, 8, 10, 10]

    clock.now += 30  # a stable run: the next crash starts from the first delay again
    supervisor.check()
    kill(supervisor, "notification-service")
    supervisor.check()
    assert supervisor.children["notification-service"].restart_at - clock.now == 0.5
    assert supervisor.children["notification-service"].restarts == 7


def test_leftovers_of_a_dead_childs_process_group_are_killed_before_the_restart(supervised, tmp_path: Path):
    """Like nginx workers or PostgreSQL backends that outlive a killed parent and hold its port."""
    supervisor, _, _ = supervised
    pid_file = tmp_path / "worker.pid"
    parent = supervisor.start(
        "web-ui", lambda: subprocess.Popen(["sh", "-c", f"sleep 600 & echo $! > {pid_file}; wait"], start_new_session=True)
    )
    wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), "the worker to start")
    worker = int(pid_file.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert alive(worker), "the worker outlives its parent"
    supervisor.check()
    wait_until(lambda: not alive(worker), "the orphaned worker to be killed")


def test_a_launcher_that_fails_is_retried_with_backoff(supervised):
    supervisor, clock, lines = supervised
    attempts = []

    def flaky() -> subprocess.Popen:
        attempts.append(clock.now)
        if len(attempts) in (2, 3):  # the first restart attempts fail (e.g. a binary being reinstalled)
            raise FileNotFoundError("no such binary")
        return sleeper()

    supervisor.start("prometheus", flaky)
    kill(supervisor, "prometheus")
    supervisor.check()
    for _ in range(3):
        clock.now = supervisor.children["prometheus"].restart_at
        supervisor.check()
    assert "could not be started (no such binary); retrying in 1s" in lines[1]
    assert "could not be started (no such binary); retrying in 2s" in lines[2]
    assert supervisor.children["prometheus"].process.poll() is None
    assert [later - attempts[1] for later in attempts[1:]] == [0, 1, 3]


def test_stop_ends_every_child_and_kills_one_that_ignores_its_stop_signal(supervised):
    supervisor, _, lines = supervised
    polite = supervisor.start("alertmanager", sleeper)
    stubborn = supervisor.start(
        "nginx",
        lambda: subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(600)",
            ],
            stdout=subprocess.PIPE,
            start_new_session=True,
        ),
    )
    assert stubborn.stdout.readline() == b"ready\n"
    supervisor.stop(timeout=0.5)
    assert polite.returncode == -signal.SIGTERM
    assert stubborn.returncode == -signal.SIGKILL
    assert lines == ["[supervisor] nginx did not stop in 0.5s; killing it"]
    assert supervisor.children == {}
    stubborn.stdout.close()
