"""Group commit: what several threads hand in at about the same time is written in one call.

A thread's `submit` queues its item and waits for the writer's lock; once it has the lock, it writes
everything queued by then (its own item and those of the threads waiting behind it) in one call, and
the threads whose items that call wrote find them done. Nothing waits for a batch to fill up: an item
handed in alone is written at once, so a lone item pays nothing, and under load the batches grow by
themselves, by as much as arrives while one batch is written.

If the write raises, every item it held is unwritten: each of their threads raises (`GroupWriteFailed`
for the ones that did not write it themselves), as it would have writing its item alone.
"""

import threading
from collections.abc import Callable, Sequence
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


class GroupWriter(Generic[Item, Result]):
    def __init__(self, write: Callable[[Sequence[Item]], Sequence[Result]]) -> None:
        """`write(items)` writes them all and returns one result per item, in order."""
        self._write = write
        self._queued: list[_Entry[Item, Result]] = []
        self._queue_lock = threading.Lock()
        self._write_lock = threading.Lock()

    def submit(self, item: Item) -> Result:
        """Write `item` (with whatever else is queued meanwhile) and return its result."""
        entry: _Entry[Item, Result] = _Entry(item)
        with self._queue_lock:
            self._queued.append(entry)
        with self._write_lock:
            if not entry.done:
                self._write_queued()  # raises here if the write fails
        if entry.error is not None:
            raise GroupWriteFailed("written together with other items, and that write failed") from entry.error
        return entry.result  # type: ignore[return-value] - set with done

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
