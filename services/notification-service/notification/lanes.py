"""Lanes: how many attempts to one destination may run at once on this replica (SPEC §13: one receiver
cannot stall everyone).

A destination is where an attempt connects (a webhook's scheme, host and port; the SMTP relay; an
Apprise service's host), named by the channel (`Channel.destination`) and stored with the notification.
Each replica's workers share one `Lanes`:

- at most `per_destination` attempts to one destination run side by side, so a receiver that answers
  slowly holds at most that many workers and the others keep delivering everyone else's pages;
- a destination that *stalls* (an attempt to it has run longer than `stall_seconds`, or one did within
  the last `memory_seconds`) gets one attempt at a time until it has answered promptly again for that long.

Workers claim their next notification through `claim`: the destinations that are full are excluded in
the claim's own query, under this object's lock, so two workers cannot both take the last free place.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

Claimed = TypeVar("Claimed")


@dataclass(frozen=True)
class Ticket:
    destination: str
    started: float


@dataclass
class Lanes:
    per_destination: int
    stall_seconds: float
    memory_seconds: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _running: dict[str, list[float]] = field(default_factory=dict, init=False)
    _stalled_until: dict[str, float] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def claim(self, take: Callable[[list[str]], Claimed | None], destination_of: Callable[[Claimed], str]) -> tuple[Claimed, Ticket] | None:
        """Run `take(full destinations)` and hold a place in the lane of what it took; None if it took nothing."""
        with self._lock:
            claimed = take(self._full(self.clock()))
            if claimed is None:
                return None
            ticket = Ticket(destination_of(claimed), self.clock())
            self._running.setdefault(ticket.destination, []).append(ticket.started)
            return claimed, ticket

    def release(self, ticket: Ticket) -> None:
        """The attempt is over: free its place, and remember the destination as stalled if it was slow."""
        now = self.clock()
        with self._lock:
            running = self._running[ticket.destination]
            running.remove(ticket.started)
            if not running:
                del self._running[ticket.destination]
            if now - ticket.started > self.stall_seconds:
                self._stalled_until[ticket.destination] = now + self.memory_seconds

    def in_flight(self, destination: str) -> int:
        with self._lock:
            return len(self._running.get(destination, ()))

    def _full(self, now: float) -> list[str]:
        self._stalled_until = {where: until for where, until in self._stalled_until.items() if until > now}
        return [where for where, started in self._running.items() if len(started) >= self._limit(where, started, now)]

    def _limit(self, destination: str, started: list[float], now: float) -> int:
        stalled = destination in self._stalled_until or any(now - start > self.stall_seconds for start in started)
        return 1 if stalled else self.per_destination
