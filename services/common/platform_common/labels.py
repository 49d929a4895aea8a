"""Bounded metric labels: a label whose values come from users (the service an alert names) would
otherwise add a time series, and memory, for every value ever sent."""

import threading

OTHER = "other"


class BoundedLabel:
    """Passes the first `limit` distinct values through; every later value is counted as "other"."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        with self._lock:
            if value not in self._seen:
                if len(self._seen) >= self.limit:
                    return OTHER
                self._seen.add(value)
        return value

    def __len__(self) -> int:
        return len(self._seen)
