"""Group commit on the event loop (`alert_ingestion.batches`): what arrives while a batch is done goes
in the next one, a failure reaches every request of its batch, and an item stuck in the queue is
withdrawn, never done."""

import asyncio

import pytest

from alert_ingestion.batches import Batches


class Calls:
    """A batch call that records its batches and, until released, blocks."""

    def __init__(self, *, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.fail_on = fail_on

    async def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(items)
        await self.release.wait()
        if self.fail_on in items:
            raise RuntimeError("the store failed")
        return [item * 10 for item in items]


async def started(calls: Calls, count: int) -> None:
    while len(calls.batches) < count:
        await asyncio.sleep(0)


def test_items_arriving_while_a_batch_runs_go_together_in_the_next_one():
    async def scenario():
        calls = Calls()
        batches = Batches(calls, size=100)
        first = asyncio.create_task(batches.submit(1))
        await started(calls, 1)
        rest = [asyncio.create_task(batches.submit(n)) for n in range(2, 6)]
        await asyncio.sleep(0)
        calls.release.set()
        return calls.batches, await first, await asyncio.gather(*rest)

    seen, first, rest = asyncio.run(scenario())
    assert seen == [[1], [2, 3, 4, 5]]
    assert (first, rest) == (10, [20, 30, 40, 50])


def test_a_batch_holds_at_most_its_size():
    async def scenario():
        calls = Calls()
        calls.release.set()
        batches = Batches(calls, size=3)
        results = await asyncio.gather(*(batches.submit(n) for n in range(8)))
        return calls.batches, results

    seen, results = asyncio.run(scenario())
    assert max(len(batch) for batch in seen) == 3 and sorted(item for batch in seen for item in batch) == list(range(8))
    assert results == [n * 10 for n in range(8)]


def test_a_failed_batch_fails_each_of_its_requests_and_not_the_next_batch():
    async def scenario():
        calls = Calls(fail_on=3)
        batches = Batches(calls, size=100)
        first = asyncio.create_task(batches.submit(1))
        await started(calls, 1)
        failing = [asyncio.create_task(batches.submit(n)) for n in (2, 3)]
        await asyncio.sleep(0)
        calls.release.set()
        outcomes = await asyncio.gather(*failing, return_exceptions=True)
        return await first, outcomes, await batches.submit(4)

    first, outcomes, later = asyncio.run(scenario())
    assert first == 10 and later == 40
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes)


def test_an_item_still_queued_when_its_wait_runs_out_is_withdrawn_and_never_done():
    async def scenario():
        calls = Calls()
        batches = Batches(calls, size=100)
        stuck = asyncio.create_task(batches.submit(1, queue_seconds=0.05))
        await started(calls, 1)
        with pytest.raises(TimeoutError):
            await batches.submit(2, queue_seconds=0.05)  # the batch ahead of it never ends in time
        calls.release.set()
        return await stuck, await batches.submit(3), calls.batches

    stuck, later, seen = asyncio.run(scenario())
    assert stuck == 10, "an item whose batch was under way gets its outcome, however long it took"
    assert later == 30 and seen == [[1], [3]], "the withdrawn item was never handed to a batch"


def test_a_lone_item_goes_at_once_and_lingering_gathers_what_its_answer_brings_back():
    async def scenario():
        calls = Calls()
        calls.release.set()
        batches = Batches(calls, size=100, linger_seconds=0.05)

        async def client(first: int) -> None:
            await batches.submit(first)
            await batches.submit(first + 100)  # the next one, sent once the first is answered

        await asyncio.gather(client(1), client(2))
        return calls.batches

    assert asyncio.run(scenario()) == [[1, 2], [101, 102]]


def test_after_a_big_call_the_few_waiting_go_with_what_its_clients_send_next_not_alone():
    async def scenario():
        calls = Calls()
        batches = Batches(calls, size=100, linger_seconds=30.0, linger_from=3)

        async def client(first: int) -> None:
            await batches.submit(first)
            await batches.submit(first + 100)  # its next one, sent once the first is answered

        clients = [asyncio.create_task(client(n)) for n in (1, 2, 3)]
        await started(calls, 1)
        lone = asyncio.create_task(batches.submit(4))  # arrives while the big call runs
        await asyncio.sleep(0)
        calls.release.set()
        # The sender goes as soon as the clients it answered are back: it does not wait out the linger.
        await asyncio.wait_for(asyncio.gather(*clients, lone), 10.0)
        return calls.batches

    assert asyncio.run(scenario()) == [[1, 2, 3], [4, 101, 102, 103]], "the lone item went without its big call's clients"


def test_after_a_small_call_what_waits_goes_at_once():
    async def scenario():
        calls = Calls()
        batches = Batches(calls, size=100, linger_seconds=30.0, linger_from=3)
        first = [asyncio.create_task(batches.submit(n)) for n in (1, 2)]
        await started(calls, 1)
        later = asyncio.create_task(batches.submit(3))  # fewer waiting than the call answered
        await asyncio.sleep(0)
        calls.release.set()
        await asyncio.wait_for(started(calls, 2), 10.0)  # a linger would hold it for 30 s
        return calls.batches, await asyncio.gather(*first), await later

    assert asyncio.run(scenario()) == ([[1, 2], [3]], [10, 20], 30)


def test_up_to_in_flight_batches_run_at_once_and_what_arrives_meanwhile_waits_for_one_of_them():
    async def scenario():
        calls = Calls()
        batches = Batches(calls, size=100, in_flight=2)
        first = asyncio.create_task(batches.submit(1))
        await started(calls, 1)
        second = asyncio.create_task(batches.submit(2))
        await asyncio.wait_for(started(calls, 2), 10.0)  # the second batch does not wait for the first
        rest = [asyncio.create_task(batches.submit(n)) for n in (3, 4)]
        for _ in range(10):
            await asyncio.sleep(0)
        running = [list(batch) for batch in calls.batches]
        calls.release.set()
        return running, calls.batches, await asyncio.gather(first, second, *rest)

    running, seen, results = asyncio.run(scenario())
    assert running == [[1], [2]], "a third batch started while two ran"
    assert seen[2:] == [[3, 4]] and results == [10, 20, 30, 40]


def test_two_senders_gathering_at_once_each_take_items_as_they_arrive():
    async def scenario():
        calls = Calls()
        batches = Batches(calls, size=100, in_flight=2, linger_seconds=30.0, linger_from=2)
        first = [asyncio.create_task(batches.submit(n)) for n in (1, 2)]
        await started(calls, 1)
        second = [asyncio.create_task(batches.submit(n)) for n in (3, 4)]
        await asyncio.wait_for(started(calls, 2), 10.0)
        calls.release.set()
        await asyncio.gather(*first, *second)  # both senders now gather for two items each
        calls.release.clear()
        busy = [asyncio.create_task(batches.submit(n)) for n in (101, 102)]  # one sender takes them, and blocks
        await asyncio.wait_for(started(calls, 3), 10.0)
        more = [asyncio.create_task(batches.submit(n)) for n in (103, 104)]  # the other must wake for these
        await asyncio.wait_for(started(calls, 4), 10.0)
        calls.release.set()
        await asyncio.gather(*busy, *more)
        return calls.batches

    assert asyncio.run(scenario()) == [[1, 2], [3, 4], [101, 102], [103, 104]]
