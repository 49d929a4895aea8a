"""WorkerGroup.wake(n): n new rows at once start n workers side by side (at most the whole group), in turn."""

import threading

from platform_common.worker import WorkerGroup


def test_a_worker_group_wakes_as_many_workers_as_asked_at_most_all_of_them_in_turn():
    ran: list[str] = []
    done = threading.Semaphore(0)
    together = threading.Barrier(2, timeout=10)  # passes only when that many workers run at once

    def step():
        ran.append(threading.current_thread().name)
        together.wait()
        done.release()

    group = WorkerGroup("delivery", 3, 3600, step)
    for worker in group.workers:
        worker.start()
    try:
        group.wake(2)
        assert done.acquire(timeout=10) and done.acquire(timeout=10)
        assert sorted(ran) == ["delivery-0", "delivery-1"]

        together = threading.Barrier(3, timeout=10)
        group.wake(50)
        assert all(done.acquire(timeout=10) for _ in range(3))
        assert sorted(ran[2:]) == ["delivery-0", "delivery-1", "delivery-2"]

        together = threading.Barrier(1)
        group.wake()
        assert done.acquire(timeout=10)
        assert ran[5:] == ["delivery-2"]  # the turn goes on where the 50 (capped at 3) left it
    finally:
        for worker in group.workers:
            worker.stop()


def test_waking_none_wakes_nobody_and_keeps_the_turn():
    WorkerGroup("delivery", 0, 3600, lambda: None).wake(5)  # a group of none: no worker to wake, no error
    ran: list[str] = []
    done = threading.Semaphore(0)

    def step():
        ran.append(threading.current_thread().name)
        done.release()

    group = WorkerGroup("delivery", 2, 3600, step)
    for worker in group.workers:
        worker.start()
    try:
        group.wake(0)
        for _ in range(2):
            group.wake()
            assert done.acquire(timeout=10)
        assert ran == ["delivery-0", "delivery-1"]
    finally:
        for worker in group.workers:
            worker.stop()
