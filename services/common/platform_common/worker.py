"""Background work run in cycles on a thread: each cycle is a small idempotent step.

Steps coordinate through the database (row locks, `FOR UPDATE SKIP LOCKED`, advisory locks), so any
number of replicas can run the same worker. A failing cycle is logged and tried again next time.

A running worker records when its last cycle finished, so readiness can tell the truth: its thread
died, or no cycle finished within `max(3 × interval, 30 s)` (a step hangs), is a `problem()`.
"""

import itertools
import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

MIN_STUCK_SECONDS = 30.0


class PeriodicWorker:
    def __init__(
        self,
        name: str,
        interval_seconds: float,
        step: Callable[[], object],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.interval_seconds = interval_seconds
        self.step = step
        self._clock = clock
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_finished = clock()

    @property
    def stuck_after_seconds(self) -> float:
        return max(3 * self.interval_seconds, MIN_STUCK_SECONDS)

    def run_once(self) -> None:
        try:
            self.step()
        except Exception:
            logger.exception("background worker %s: cycle failed", self.name)
        self._last_finished = self._clock()

    def _loop(self) -> None:
        while True:
            self._wake.wait(self.interval_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            self.run_once()

    def wake(self) -> None:
        """Run the next cycle now rather than at the end of the interval (e.g. new work was queued)."""
        self._wake.set()

    def start(self) -> None:
        self._last_finished = self._clock()  # the first cycle is due within the limit from now
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def problem(self) -> str | None:
        """What is wrong with this worker while it should be running (dead or stuck), or None.
        A worker that was never started (background workers off) or was stopped has no problem."""
        if self._thread is None or self._stop.is_set():
            return None
        if not self._thread.is_alive():
            return "dead: its thread has exited"
        idle = self._clock() - self._last_finished
        if idle > self.stuck_after_seconds:
            return f"stuck: no cycle finished for {idle:.0f} s (limit {self.stuck_after_seconds:.0f} s)"
        return None

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


class WorkerGroup:
    """`count` workers running the same step side by side (an outbox drained with leases). `wake` starts
    the next one in turn rather than all of them: one new row needs one worker, and a busy one takes the
    row as soon as its current one is done (its cycle goes on while rows are due). `wake(n)` starts the
    next n in turn (at most all of them), for n new rows at once."""

    def __init__(self, name: str, count: int, interval_seconds: float, step: Callable[[], object]) -> None:
        self.workers = [PeriodicWorker(f"{name}-{number}", interval_seconds, step) for number in range(count)]
        self._turns = itertools.count()

    def wake(self, count: int = 1) -> None:
        # A group of none wakes nobody: its work is done elsewhere (e.g. by the cycle that queued it).
        for _ in range(min(count, len(self.workers))):
            self.workers[next(self._turns) % len(self.workers)].wake()
