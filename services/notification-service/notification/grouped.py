"""Group commit: what several threads hand in at about the same time is written in one call.

A thread's `submit` queues its item and waits for the writer's lock; once it has the lock, it writes
everything queued by then (its own item and those of the threads waiting behind it) in one call, and
the threads whose items that call wrote find them done. An item handed in alone is written at once,
so a lone item pays nothing, and under load the batches grow by themselves, by as much as arrives
while one batch is written.

A thread can also say an item is on its way before it has it (`expecting`: a delivery under way will
hand in its outcome). The thread about to write then waits for those items, at most `linger_seconds`,
so that deliveries that end a moment apart are written together instead of one write each. Nothing
waits when no item is on its way.

If the write raises, every item it held is unwritten: each of their threads raises (`GroupWriteFailed`
for the ones that did not write it themselves), as it would have writing its item alone.
"""

import threading
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

    def __init__(self, writer: "GroupWriter[Item, Result]") -> None:
        self._writer = writer
        self.arrived = False

    def submit(self, item: Item) -> Result:
        """`GroupWriter.submit` for the item that was on its way."""
        self.arrived = True
        return self._writer._submit(item, expected=True)


class GroupWriter(Generic[Item, Result]):
    def __init__(self, write: Callable[[Sequence[Item]], Sequence[Result]], *, linger_seconds: float = 0.0) -> None:
        """`write(items)` writes them all and returns one result per item, in order."""
        self._write = write
        self._linger_seconds = linger_seconds
        self._queued: list[_Entry[Item, Result]] = []
        self._queue_lock = threading.Lock()
        self._changed = threading.Condition(self._queue_lock)
        self._on_their_way = 0  # announced by `expecting`, not handed in yet
        self._write_lock = threading.Lock()

    @contextmanager
    def expecting(self) -> Iterator[Expected[Item, Result]]:
        """While the block runs, an item is on its way: hand it in with the yielded `Expected.submit`.
        A block that ends without handing it in (it raised, or had nothing to write) withdraws it."""
        with self._changed:
            self._on_their_way += 1
        expected: Expected[Item, Result] = Expected(self)
        try:
            yield expected
        finally:
            if not expected.arrived:
                with self._changed:
                    self._on_their_way -= 1
                    self._changed.notify_all()

    def submit(self, item: Item) -> Result:
        """Write `item` (with whatever else is queued meanwhile) and return its result."""
        return self._submit(item, expected=False)

    def _submit(self, item: Item, *, expected: bool) -> Result:
        entry: _Entry[Item, Result] = _Entry(item)
        with self._changed:
            self._queued.append(entry)
            if expected:
                self._on_their_way -= 1
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
                self._changed.wait_for(lambda: self._on_their_way == 0, timeout=self._linger_seconds)

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
