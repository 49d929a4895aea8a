"""The incident lifecycle rules, as pure functions."""

from datetime import UTC, datetime, timedelta

import pytest

from incident_management.lifecycle import IllegalTransition, Status, event_kind, transition

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def incident(status: Status, acknowledged_at=None):
    return {"status": status, "created_at": T0, "acknowledged_at": acknowledged_at}


def test_acknowledging_sets_mtta():
    updates = transition(incident(Status.OPEN), Status.ACKNOWLEDGED, T0 + timedelta(seconds=90))
    assert updates["acknowledged_at"] == T0 + timedelta(seconds=90)
    assert updates["mtta_seconds"] == 90
    assert "mttr_seconds" not in updates


def test_resolving_an_unacknowledged_incident_fixes_mtta_and_mttr():
    updates = transition(incident(Status.OPEN), Status.RESOLVED, T0 + timedelta(minutes=10))
    assert updates["mtta_seconds"] == 600 and updates["mttr_seconds"] == 600


def test_resolving_after_acknowledgement_keeps_the_original_mtta():
    updates = transition(incident(Status.IN_PROGRESS, T0 + timedelta(seconds=30)), Status.RESOLVED, T0 + timedelta(hours=1))
    assert "mtta_seconds" not in updates
    assert updates["mttr_seconds"] == 3600


def test_skipping_forward_is_allowed():
    assert transition(incident(Status.OPEN), Status.IN_PROGRESS, T0)["status"] == Status.IN_PROGRESS


def test_same_status_changes_nothing():
    assert transition(incident(Status.ACKNOWLEDGED, T0), Status.ACKNOWLEDGED, T0) == {}


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (Status.ACKNOWLEDGED, Status.OPEN),
        (Status.IN_PROGRESS, Status.ACKNOWLEDGED),
        (Status.RESOLVED, Status.IN_PROGRESS),
        (Status.RESOLVED, Status.ACKNOWLEDGED),
    ],
)
def test_illegal_moves_are_refused(current, target):
    with pytest.raises(IllegalTransition):
        transition(incident(current, T0), target, T0)


def test_reopening_a_resolved_incident_clears_the_resolution():
    updates = transition(incident(Status.RESOLVED, T0), Status.OPEN, T0 + timedelta(hours=2))
    assert updates["resolved_at"] is None and updates["mttr_seconds"] is None
    assert event_kind(Status.RESOLVED, Status.OPEN) == "reopened"
    assert event_kind(Status.OPEN, Status.ACKNOWLEDGED) == "acknowledged"
