"""Work that concurrent requests hand in, done in batches (group commit on the event loop).

A request's `submit` queues its item and waits for its result. A sender task takes everything queued,
at most `size` items, does it in one call, and hands each request its result; while that call runs the
next batch gathers, so under load the batches grow by themselves and a lone item goes at once. At most
`in_flight` calls run at a time. After a call of n items (n at least `linger_from`), the sender waits up
to `linger_seconds` for the n items that the answers it just gave bring back (the clients it answered
send their next ones), and goes as soon as they are waiting with those that were (or a batch is full):
so clients that each wait for their answer go together in one batch rather than in two taking turns.
(Without it, 32 clients settled into batches of 1 and 31, or two halves, by turns, each batch paying a
call's fixed cost: README "Benchmarks", flood.) After a smaller call nothing waits. If the call raises,
every request of its batch raises that error.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batches(Generic[Item, Result]):
    def __init__(
        self,
        call: Callable[[list[Item]], Awaitable[Sequence[Result]]],
        *,
        size: int,
        in_flight: int = 1,
        linger_seconds: float = 0.0,
        linger_from: int = 1,
    ) -> None:
        """`call(items)` does them all and returns one result per item, in order."""
        self._call = call
        self.size = size
        self.in_flight = in_flight
        self.linger_seconds = linger_seconds
        self.linger_from = linger_from
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._gathering: list[asyncio.Future[None]] = []  # one per sender waiting for items: the next item sets them
        self._senders: set[asyncio.Task[None]] = set()

    async def submit(self, item: Item, *, queue_seconds: float | None = None) -> Result:
        """The item's result, once the batch holding it is done (a request that goes away meanwhile does
        not cancel the batch: the others still get their results). An item still queued after
        `queue_seconds` (the batches ahead of it are stuck) is withdrawn, never done: TimeoutError."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        entry = (item, future)
        self._waiting.append(entry)
        for arrival in self._gathering:
            if not arrival.done():
                arrival.set_result(None)
        if len(self._senders) < self.in_flight:
            self._senders.add(asyncio.create_task(self._send_waiting()))
        try:
            return await asyncio.wait_for(asyncio.shield(future), queue_seconds)
        except TimeoutError:
            if any(waiting is entry for waiting in self._waiting):
                self._waiting = [waiting for waiting in self._waiting if waiting is not entry]
                raise
            return await asyncio.shield(future)  # its batch is under way: its outcome is the answer

    async def _send_waiting(self) -> None:
        answered = 0  # the items of the call just made: their clients are about to send their next ones
        try:
            while True:
                if self.linger_seconds > 0 and self.linger_from <= answered and len(self._waiting) < self.size:
                    await self._gather(min(self.size, len(self._waiting) + answered))
                if not self._waiting:
                    return
                batch, self._waiting = self._waiting[: self.size], self._waiting[self.size :]
                answered = len(batch)
                try:
                    results = await self._call([item for item, _ in batch])
                except Exception as exc:  # noqa: BLE001 - every waiting request gets an answer
                    for _, future in batch:
                        future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    future.set_result(result)
        finally:
            # In the same turn as finding nothing left to send (a done-callback runs a turn later, and an
            # item arriving meanwhile would find every sender still counted, and wait for the next one).
            self._senders.discard(asyncio.current_task())  # type: ignore[arg-type]

    async def _gather(self, count: int) -> None:
        """Wait until `count` items are waiting, at most `linger_seconds`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.linger_seconds
        while len(self._waiting) < count and (left := deadline - loop.time()) > 0:
            arrival = loop.create_future()
            self._gathering.append(arrival)
            try:
                await asyncio.wait_for(arrival, left)
            except TimeoutError:
                return
            finally:
                self._gathering.remove(arrival)
