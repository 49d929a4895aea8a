"""The incident lifecycle as pure rules: which status changes are legal and what they stamp.

    open → acknowledged → in_progress → resolved      (skipping forward is allowed)
    resolved → open                                  (an explicit reopen)
Anything else is illegal. The first move out of `open` is the acknowledgement (sets MTTA); resolving
sets MTTR, and resolving an unacknowledged incident acknowledges it at the same moment.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"


_ORDER = [Status.OPEN, Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.RESOLVED]


class IllegalTransition(ValueError):
    pass


def _seconds_between(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


def transition(incident: dict[str, Any], target: Status, now: datetime) -> dict[str, Any]:
    """Column updates for moving `incident` to `target`; empty when it is already there."""
    current = Status(incident["status"])
    if target == current:
        return {}
    if current == Status.RESOLVED:
        if target != Status.OPEN:
            raise IllegalTransition(f"a resolved incident can only be reopened (status 'open'), not moved to '{target}'")
        return {"status": target, "resolved_at": None, "mttr_seconds": None, "updated_at": now}
    if _ORDER.index(target) < _ORDER.index(current):
        raise IllegalTransition(f"cannot move an incident from '{current}' back to '{target}'")
    updates: dict[str, Any] = {"status": target, "updated_at": now}
    if incident["acknowledged_at"] is None:
        updates["acknowledged_at"] = now
        updates["mtta_seconds"] = _seconds_between(incident["created_at"], now)
    if target == Status.RESOLVED:
        updates["resolved_at"] = now
        updates["mttr_seconds"] = _seconds_between(incident["created_at"], now)
    return updates


def event_kind(current: Status, target: Status) -> str:
    """The timeline event a status change writes."""
    if current == Status.RESOLVED and target == Status.OPEN:
        return "reopened"
    return str(target)
