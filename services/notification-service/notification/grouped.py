"""Group commit: what several threads hand in at about the same time is written in one call.

A thread's `submit` queues its item and waits for the writer's lock; once it has the lock, it writes
everything queued by then (its own item and those of the threads waiting behind it) in one call, and
the threads whose items that call wrote find them done. An item handed in alone is written at once,
so a lone item pays nothing, and under load the batches grow by themselves, by as much as arrives
while one batch is written.

A thread can also say an item is on its way before it has it (`expecting`: a delivery under way will
hand in its outcome). The thread about to write then waits for those items, at most `linger_seconds`,
so that deliveries that end a moment apart are written together instead of one write each. Nothing
waits when no item is on its way, nor for one on its way for longer than `recent_seconds` (a slow
attempt, a receiver trickling its answer, must not make every other outcome wait).

If the write raises, every item it held is unwritten: each of their threads raises (`GroupWriteFailed`
for the ones that did not write it themselves), as it would have writing its item alone.
"""

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupWriteFailed(Exception):
    """The write that held this item raised (in another thread: the cause)."""


@dataclass
class _Entry(Generic[Item, Result]):
    item: Item
    done: bool = False
    result: Result | None = None
    error: BaseException | None = None


class Expected(Generic[Item, Result]):
    """An item on its way to a `GroupWriter` (see `GroupWriter.expecting`)."""

    def __init__(self, writer: "GroupWriter[Item, Result]", since: float) -> None:
        self._writer = writer
        self.since = since  # when it was announced (the writer's clock)
        self.arrived = False

    def submit(self, item: Item) -> Result:
        """`GroupWriter.submit` for the item that was on its way."""
        self.arrived = True
        return self._writer._submit(item, expected=self)


class GroupWriter(Generic[Item, Result]):
    def __init__(
        self,
        write: Callable[[Sequence[Item]], Sequence[Result]],
        *,
        linger_seconds: float = 0.0,
        recent_seconds: float = float("inf"),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`write(items)` writes them all and returns one result per item, in order."""
        self._write = write
        self._linger_seconds = linger_seconds
        self._recent_seconds = recent_seconds
        self._clock = clock
        self._queued: list[_Entry[Item, Result]] = []
        self._queue_lock = threading.Lock()
        self._changed = threading.Condition(self._queue_lock)
        self._on_their_way: set[Expected[Item, Result]] = set()  # announced by `expecting`, not handed in yet
        self._write_lock = threading.Lock()

    @contextmanager
    def expecting(self) -> Iterator[Expected[Item, Result]]:
        """While the block runs, an item is on its way: hand it in with the yielded `Expected.submit`.
        A block that ends without handing it in (it raised, or had nothing to write) withdraws it."""
        expected: Expected[Item, Result] = Expected(self, self._clock())
        with self._changed:
            self._on_their_way.add(expected)
        try:
            yield expected
        finally:
            if not expected.arrived:
                with self._changed:
                    self._on_their_way.discard(expected)
                    self._changed.notify_all()

    def submit(self, item: Item) -> Result:
        """Write `item` (with whatever else is queued meanwhile) and return its result."""
        return self._submit(item, expected=None)

    def _submit(self, item: Item, *, expected: Expected[Item, Result] | None) -> Result:
        entry: _Entry[Item, Result] = _Entry(item)
        with self._changed:
            self._queued.append(entry)
            if expected is not None:
                self._on_their_way.discard(expected)
                self._changed.notify_all()
        with self._write_lock:
            if not entry.done:
                self._wait_for_items_on_their_way()
                self._write_queued()  # raises here if the write fails
        if entry.error is not None:
            raise GroupWriteFailed("written together with other items, and that write failed") from entry.error
        return entry.result  # type: ignore[return-value] - set with done

    def _wait_for_items_on_their_way(self) -> None:
        if self._linger_seconds > 0:
            with self._changed:
                self._changed.wait_for(self._none_recent_on_their_way, timeout=self._linger_seconds)

    def _none_recent_on_their_way(self) -> bool:
        announced_since = self._clock() - self._recent_seconds
        return all(expected.since < announced_since for expected in self._on_their_way)

    def _write_queued(self) -> None:
        with self._queue_lock:
            batch, self._queued = self._queued, []
        try:
            results = self._write([entry.item for entry in batch])
        except BaseException as error:
            for entry in batch:
                entry.error, entry.done = error, True
            raise  # in the writing thread, the write's own error
        for entry, result in zip(batch, results, strict=True):
            entry.result, entry.done = result, True
