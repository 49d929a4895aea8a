"""When each step of an escalation policy falls due: pure time math, no database.

A policy's steps run in order: step 1 pages at once, each step waits its `delay_minutes` before the next,
and after the last step (and its delay) the policy starts again, `repeat` more times. Every page is one
*level*, numbered 1, 2, … across the rounds, so UNIQUE(incident_id, level) claims each exactly once. One
delay after the last step of the last round the policy is *exhausted*: that is one more level, whose
delivery flags the incident and tells the team's admins.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Level:
    level: int
    after_minutes: int  # from the incident's creation
    step: int | None = None  # 1-based; None for the exhaustion level
    round: int | None = None  # 1-based
    targets: list[dict[str, str]] = field(default_factory=list)
    exhausted: bool = False

    def due_at(self, created_at: datetime) -> datetime:
        return created_at + timedelta(minutes=self.after_minutes)

    def as_json(self) -> dict[str, Any]:
        if self.exhausted:
            return {"level": self.level, "after_minutes": self.after_minutes, "exhausted": True}
        return {"level": self.level, "after_minutes": self.after_minutes, "step": self.step, "round": self.round, "targets": self.targets}


def levels(steps: Sequence[Mapping[str, Any]], repeat: int) -> list[Level]:
    """Every level of a policy (`steps`: [{delay_minutes, targets}]), in order, ending with the exhaustion level."""
    found: list[Level] = []
    offset = 0
    for round_ in range(1, repeat + 2):
        for number, step in enumerate(steps, start=1):
            found.append(Level(len(found) + 1, offset, number, round_, [dict(target) for target in step["targets"]]))
            offset += step["delay_minutes"]
    return [*found, Level(len(found) + 1, offset, exhausted=True)]


def due_schedule(steps: Sequence[Mapping[str, Any]], repeat: int, created_at: datetime) -> list[tuple[int, list[dict[str, str]], datetime]]:
    """(level, targets, due_at) of every page the policy makes for an incident created at `created_at`;
    the last entry, with no targets, is when it is exhausted."""
    return [(level.level, level.targets, level.due_at(created_at)) for level in levels(steps, repeat)]
