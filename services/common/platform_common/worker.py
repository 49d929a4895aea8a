"""Background work run in cycles on a thread: each cycle is a small idempotent step.

Steps coordinate through the database (row locks, `FOR UPDATE SKIP LOCKED`, advisory locks), so any
number of replicas can run the same worker. A failing cycle is logged and tried again next time.
"""

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


class PeriodicWorker:
    def __init__(self, name: str, interval_seconds: float, step: Callable[[], object]) -> None:
        self.name = name
        self.interval_seconds = interval_seconds
        self.step = step
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> None:
        try:
            self.step()
        except Exception:
            logger.exception("background worker %s: cycle failed", self.name)

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
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
