"""Lanes (notification.lanes): a destination's attempts in flight are capped, and a stalling
destination gets one at a time. A pure unit test with a hand-moved clock."""

from notification.lanes import Lanes


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _lanes(clock: Clock) -> Lanes:
    return Lanes(per_destination=2, stall_seconds=2.0, memory_seconds=300.0, clock=clock)


def _take(row: str):
    """A claim that takes `row` unless its destination is excluded; records what it was told."""
    seen: list[list[str]] = []

    def take(full: list[str]) -> str | None:
        seen.append(full)
        return None if row in full else row

    return take, seen


def test_a_destination_takes_at_most_its_share_of_the_workers():
    clock = Clock()
    lanes = _lanes(clock)
    first = lanes.claim(_take("hook A")[0], str)
    second = lanes.claim(_take("hook A")[0], str)
    take, seen = _take("hook A")
    assert first and second and lanes.claim(take, str) is None
    assert seen == [["hook A"]]
    assert lanes.claim(_take("hook B")[0], str) is not None, "another destination still has room"
    lanes.release(first[1])
    assert lanes.claim(_take("hook A")[0], str) is not None
    assert lanes.in_flight("hook A") == 2


def test_a_stalling_destination_gets_one_attempt_at_a_time_until_it_has_recovered():
    clock = Clock()
    lanes = _lanes(clock)
    slow = lanes.claim(_take("hook A")[0], str)
    clock.now = 3.0  # that attempt has run longer than the stall limit: the lane narrows to one
    take, seen = _take("hook A")
    assert lanes.claim(take, str) is None and seen == [["hook A"]]
    lanes.release(slow[1])
    one = lanes.claim(_take("hook A")[0], str)
    assert one is not None and lanes.claim(_take("hook A")[0], str) is None, "remembered as stalled"
    lanes.release(one[1])
    clock.now = 3.0 + 301.0  # five minutes without a slow attempt: the full lane again
    assert lanes.claim(_take("hook A")[0], str) and lanes.claim(_take("hook A")[0], str)


def test_a_prompt_attempt_leaves_no_memory():
    clock = Clock()
    lanes = _lanes(clock)
    quick = lanes.claim(_take("hook A")[0], str)
    clock.now = 0.5
    lanes.release(quick[1])
    assert lanes.in_flight("hook A") == 0
    take, seen = _take("hook A")
    assert lanes.claim(take, str) is not None and seen == [[]]
