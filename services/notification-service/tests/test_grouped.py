"""Group commit (notification.grouped): items handed in while a write is under way are written together
in the next one, a lone item is written at once, and a failed write fails every item it held. Real
threads; a write that waits on an event stands for a slow database."""

import threading

import pytest

from notification.grouped import GroupWriteFailed, GroupWriter


class Store:
    """Writes items by appending them; the first write can be held until the test lets it go."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.writing = threading.Event()
        self.go_on = threading.Event()
        self.go_on.set()
        self.fail = False

    def write(self, items) -> list[str]:
        self.writing.set()
        self.go_on.wait(10)
        if self.fail:
            raise ConnectionError("database gone")
        self.batches.append(list(items))
        return [f"written {item}" for item in items]


def _submit_in_threads(writer: GroupWriter, items: list[str]) -> tuple[dict[str, object], list[threading.Thread]]:
    outcomes: dict[str, object] = {}

    def submit(item: str) -> None:
        try:
            outcomes[item] = writer.submit(item)
        except Exception as error:  # noqa: BLE001 - the test looks at what each thread got
            outcomes[item] = error

    threads = [threading.Thread(target=submit, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    return outcomes, threads


def _wait_queued(writer: GroupWriter, count: int) -> None:
    """Until `count` items wait for the write under way (what other threads do; not a timing assertion)."""
    for _ in range(1000):
        with writer._queue_lock:
            if len(writer._queued) == count:
                return
        threading.Event().wait(0.01)
    raise AssertionError(f"{count} items never queued")


def test_a_lone_item_is_written_at_once_and_gets_its_result():
    store = Store()
    writer = GroupWriter(store.write)
    assert writer.submit("a") == "written a"
    assert store.batches == [["a"]]


def test_items_handed_in_during_a_write_go_together_in_the_next_one():
    store = Store()
    writer = GroupWriter(store.write)
    store.go_on.clear()
    first, first_threads = _submit_in_threads(writer, ["first"])
    assert store.writing.wait(10)
    waiting, threads = _submit_in_threads(writer, ["b", "c", "d"])
    _wait_queued(writer, 3)
    store.go_on.set()
    for thread in first_threads + threads:
        thread.join(10)
    assert len(store.batches) == 2 and store.batches[0] == ["first"] and sorted(store.batches[1]) == ["b", "c", "d"]
    assert first | waiting == {item: f"written {item}" for item in ("first", "b", "c", "d")}


def test_a_failed_write_fails_every_item_it_held_and_the_next_write_starts_afresh():
    store = Store()
    writer = GroupWriter(store.write)
    store.go_on.clear()
    _, first_threads = _submit_in_threads(writer, ["first"])
    assert store.writing.wait(10)
    waiting, threads = _submit_in_threads(writer, ["b", "c"])
    _wait_queued(writer, 2)
    store.fail = True
    store.go_on.set()
    for thread in first_threads + threads:
        thread.join(10)
    # "first" was written alone and failed in its own thread; b and c failed together in one of theirs.
    assert {type(error) for error in waiting.values()} <= {ConnectionError, GroupWriteFailed}
    assert [type(error) for error in waiting.values()].count(ConnectionError) == 1
    failed_together = next(error for error in waiting.values() if isinstance(error, GroupWriteFailed))
    assert isinstance(failed_together.__cause__, ConnectionError)
    store.fail = False
    assert writer.submit("later") == "written later"
    assert store.batches == [["later"]]


def test_the_writer_raises_its_own_error_unwrapped():
    store = Store()
    store.fail = True
    with pytest.raises(ConnectionError, match="database gone"):
        GroupWriter(store.write).submit("a")


LONG_LINGER = 60.0  # longer than any test waits: a write that waited for it would hang the test


def test_an_item_on_its_way_is_waited_for_and_written_with_the_one_handed_in_before_it():
    store = Store()
    writer = GroupWriter(store.write, linger_seconds=LONG_LINGER)
    entered, release, results = threading.Event(), threading.Event(), {}

    def deliver() -> None:
        with writer.expecting() as on_its_way:
            entered.set()
            assert release.wait(10)
            results["late"] = on_its_way.submit("late")

    late = threading.Thread(target=deliver)
    late.start()
    assert entered.wait(10)
    early, early_threads = _submit_in_threads(writer, ["early"])
    _wait_queued(writer, 1)
    assert store.batches == []  # "early" waits: "late" is still on its way
    release.set()
    for thread in [late, *early_threads]:
        thread.join(10)
    assert store.batches == [["early", "late"]]
    assert early == {"early": "written early"} and results == {"late": "written late"}


def test_an_item_that_never_comes_is_waited_for_at_most_the_linger():
    store = Store()
    writer = GroupWriter(store.write, linger_seconds=0.05)
    with writer.expecting():
        assert writer.submit("a") == "written a"  # written alone once the linger ran out
    assert store.batches == [["a"]]


def test_an_item_on_its_way_for_longer_than_recent_seconds_is_not_waited_for():
    store, now = Store(), [100.0]
    writer = GroupWriter(store.write, linger_seconds=LONG_LINGER, recent_seconds=1.0, clock=lambda: now[0])
    with writer.expecting():  # a slow attempt: a receiver trickling its answer
        now[0] += 1.5
        outcomes, threads = _submit_in_threads(writer, ["quick"])
        threads[0].join(10)
        assert not threads[0].is_alive()
    assert outcomes == {"quick": "written quick"} and store.batches == [["quick"]]


def test_a_withdrawn_item_and_no_item_at_all_make_nobody_wait():
    store = Store()
    writer = GroupWriter(store.write, linger_seconds=LONG_LINGER)
    with pytest.raises(TimeoutError), writer.expecting():
        raise TimeoutError("the delivery failed before it had an outcome")
    outcomes, threads = _submit_in_threads(writer, ["a"])
    threads[0].join(10)
    assert not threads[0].is_alive()
    assert outcomes == {"a": "written a"} and store.batches == [["a"]]
