"""When each step of an escalation policy falls due: the pure time math of `oncall.policies.timing`."""

from datetime import UTC, datetime, timedelta

from oncall.policies.timing import due_schedule, levels

CREATED = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night Europe's clocks go forward: the math is in UTC minutes
A = {"type": "user", "id": "a"}
S = {"type": "schedule", "id": "checkout-api"}
T = {"type": "team", "id": "dba"}


def at(minutes: int) -> datetime:
    return CREATED + timedelta(minutes=minutes)


def test_step_one_pages_at_once_each_step_waits_its_delay_and_the_policy_repeats():
    steps = [{"delay_minutes": 1, "targets": [A]}, {"delay_minutes": 1, "targets": [S]}]
    assert due_schedule(steps, 1, CREATED) == [
        (1, [A], at(0)),
        (2, [S], at(1)),
        (3, [A], at(2)),
        (4, [S], at(3)),
        (5, [], at(4)),  # exhausted one delay after the last step of the last round
    ]


def test_uneven_delays_accumulate_within_and_across_rounds():
    steps = [{"delay_minutes": 5, "targets": [S]}, {"delay_minutes": 0, "targets": [A, T]}, {"delay_minutes": 30, "targets": [T]}]
    assert [(level, due) for level, _, due in due_schedule(steps, 2, CREATED)] == [
        (1, at(0)),
        (2, at(5)),
        (3, at(5)),  # a zero delay: the next step falls due together with this one
        (4, at(35)),
        (5, at(40)),
        (6, at(40)),
        (7, at(70)),
        (8, at(75)),
        (9, at(75)),
        (10, at(105)),
    ]


def test_without_repeat_the_steps_run_once_then_the_policy_is_exhausted():
    (first, exhausted) = levels([{"delay_minutes": 15, "targets": [A]}], 0)
    assert (first.level, first.step, first.round, first.after_minutes, first.exhausted) == (1, 1, 1, 0, False)
    assert (exhausted.level, exhausted.after_minutes, exhausted.exhausted, exhausted.targets) == (2, 15, True, [])


def test_levels_name_their_step_and_round_and_serialise_for_the_frozen_snapshot():
    found = levels([{"delay_minutes": 2, "targets": [A]}, {"delay_minutes": 3, "targets": [S]}], 10)
    assert len(found) == 2 * 11 + 1
    assert [(lv.step, lv.round) for lv in found[:4]] == [(1, 1), (2, 1), (1, 2), (2, 2)]
    assert found[-2].as_json() == {"level": 22, "after_minutes": 10 * 5 + 2, "step": 2, "round": 11, "targets": [S]}
    assert found[-1].as_json() == {"level": 23, "after_minutes": 11 * 5, "exhausted": True}
