"""Keeps `make run`'s processes alive: a child that exits (crash, `kill -9`, an operator's
`pg_ctl stop`) is restarted with backoff while everything else keeps running.

    supervisor = Supervisor()
    supervisor.start("alert-ingestion", lambda: subprocess.Popen([...], start_new_session=True))
    while not stopping.wait(0.2):
        supervisor.check()          # notices exits, restarts when their backoff is over
    supervisor.stop()               # every child, last started first

Backoff: 0.5 s after the first exit, doubling to 10 s for a child that keeps failing; a child that ran
`stable_after` seconds before exiting starts again from 0.5 s. Each child runs in its own process group
(`start_new_session=True` in its launcher), so whatever it leaves behind (nginx workers, PostgreSQL
backends after the postmaster was killed) is killed with it before the restart. The clock is injected.
"""

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

Launch = Callable[[], subprocess.Popen]


@dataclass
class Child:
    name: str
    launch: Launch
    stop_signal: int
    process: subprocess.Popen
    started_at: float
    failures: int = 0  # exits in a row without a stable run in between
    restart_at: float | None = None  # set while waiting for the backoff to pass
    restarts: int = 0


def _kill_group(process: subprocess.Popen, sig: int) -> None:
    """Signal the child's process group (its own session), or the child alone if the group is gone."""
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            process.send_signal(sig)
        except ProcessLookupError:
            pass


class Supervisor:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] = lambda line: print(line, flush=True),
        initial_backoff: float = 0.5,
        max_backoff: float = 10.0,
        stable_after: float = 30.0,
    ) -> None:
        self.clock = clock
        self.log = log
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.stable_after = stable_after
        self.children: dict[str, Child] = {}

    def start(self, name: str, launch: Launch, *, stop_signal: int = signal.SIGTERM) -> subprocess.Popen:
        """Launch a child and supervise it from now on; returns its process."""
        process = launch()
        self.children[name] = Child(name, launch, stop_signal, process, self.clock())
        return process

    def backoff(self, failures: int) -> float:
        return min(self.max_backoff, self.initial_backoff * 2 ** (failures - 1))

    def check(self) -> None:
        """One supervision round: schedule the restart of children that exited, restart those due."""
        now = self.clock()
        for child in self.children.values():
            if child.restart_at is None:
                self._check_running(child, now)
            elif now >= child.restart_at:
                self._restart(child, now)

    def _check_running(self, child: Child, now: float) -> None:
        code = child.process.poll()
        ran = now - child.started_at
        if code is None:
            if ran >= self.stable_after:
                child.failures = 0
            return
        _kill_group(child.process, signal.SIGKILL)  # leftovers of the group, if any
        child.failures = 1 if ran >= self.stable_after else child.failures + 1
        delay = self.backoff(child.failures)
        child.restart_at = now + delay
        self.log(f"[supervisor] {child.name} (pid {child.process.pid}) exited with {code} after {ran:.1f}s; restarting in {delay:g}s")

    def _restart(self, child: Child, now: float) -> None:
        try:
            child.process = child.launch()
        except (OSError, subprocess.SubprocessError) as error:  # cannot be started right now: try again later
            child.failures += 1
            delay = self.backoff(child.failures)
            child.restart_at = now + delay
            self.log(f"[supervisor] {child.name} could not be started ({error}); retrying in {delay:g}s")
            return
        child.started_at = now
        child.restart_at = None
        child.restarts += 1
        self.log(f"[supervisor] {child.name} restarted (pid {child.process.pid}, restart #{child.restarts})")

    def stop(self, timeout: float = 15) -> None:
        """Stop every child, last started first: its stop signal, then SIGKILL after `timeout` seconds."""
        for child in reversed(list(self.children.values())):
            if child.restart_at is None and child.process.poll() is None:
                child.process.send_signal(child.stop_signal)
                try:
                    child.process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.log(f"[supervisor] {child.name} did not stop in {timeout:g}s; killing it")
            _kill_group(child.process, signal.SIGKILL)
            child.process.wait()
        self.children.clear()
