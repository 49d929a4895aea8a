"""The heartbeat state machine as pure time math: up → late (interval passed) → down (grace passed too)
→ up again after a ping; what the monitor claims as missed, at the exact boundaries."""

from datetime import UTC, datetime, timedelta

import pytest

from alert_ingestion.heartbeats.state import due_at, is_missed, state_at

T0 = datetime(2026, 3, 29, 0, 59, 50, tzinfo=UTC)  # across a DST change in Europe: UTC math is unaffected


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_due_is_last_seen_plus_interval_plus_grace():
    assert due_at(T0, interval_seconds=5, grace_seconds=5) == at(10)
    assert due_at(T0, interval_seconds=60, grace_seconds=0) == at(60)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "up"), (4.999, "up"), (5, "late"), (9.999, "late"), (10, "down"), (3600, "down")],
)
def test_state_moves_up_late_down_as_the_clock_moves(seconds, expected):
    due = due_at(T0, interval_seconds=5, grace_seconds=5)
    assert state_at(due=due, grace_seconds=5, down_since=None, now=at(seconds)) == expected


def test_without_grace_a_heartbeat_is_never_late_only_up_or_down():
    due = due_at(T0, interval_seconds=30, grace_seconds=0)
    assert [state_at(due=due, grace_seconds=0, down_since=None, now=at(s)) for s in (29, 30)] == ["up", "down"]


def test_a_claimed_miss_stays_down_until_a_ping_moves_the_deadline():
    due = due_at(T0, interval_seconds=5, grace_seconds=5)
    assert state_at(due=due, grace_seconds=5, down_since=at(10), now=at(10)) == "down"
    pinged = at(12)
    new_due = due_at(pinged, interval_seconds=5, grace_seconds=5)
    assert state_at(due=new_due, grace_seconds=5, down_since=None, now=at(13)) == "up"
    assert state_at(due=new_due, grace_seconds=5, down_since=None, now=at(17)) == "late"


def test_missed_once_the_deadline_is_reached_and_only_while_up():
    due = due_at(T0, interval_seconds=5, grace_seconds=5)
    assert not is_missed(due=due, down_since=None, now=at(9.999))
    assert is_missed(due=due, down_since=None, now=at(10))
    assert not is_missed(due=due, down_since=at(10), now=at(11)), "already claimed: one miss, one incident"
