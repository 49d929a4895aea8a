"""Accounting: what was accepted and stored, which pages were owed and which arrived, how late.

- An accepted alert (2xx) is lost when its id is not in `alert_ingestion.alerts`.
- Each (service, severity) group with an accepted alert owes one page (its incident's first page, to
  the team's primary); each escalation level a scenario made due owes one page to that level's person.
  A page owed and not received by the end of the drain is lost.
- A page is duplicated when the receiver showed the same page (incident, level, recipient) more than once
  (it honours Idempotency-Key, as receiver.py says: a re-sent notification is not a second page).
- A page's delay runs from when it fell due (the group's first accepted alert was sent; an escalation
  level's deadline, or the clock jump that passed it) to its first arrival, in platform time. A page
  still missing counts with the delay it has reached so far (shown with `>`). Delays are in platform
  time: an outage the scenario fast-forwards through counts at its platform length.
"""

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from faults.clock import PlatformClock
from faults.load import Group, LoadResult
from faults.receiver import Delivery

ESCALATED = re.compile(r"\[ESCALATED level (\d+)\]")
PageKey = tuple[str, int]  # (incident id, escalation level; 0 for the first page)


@dataclass(frozen=True)
class EscalationDue:
    incident_id: str
    level: int
    deadline: datetime


@dataclass
class Delay:
    seconds: float | None = None
    still_missing: bool = False

    def add(self, seconds: float, *, missing: bool) -> None:
        if self.seconds is None or seconds > self.seconds:
            self.seconds, self.still_missing = seconds, missing

    def __str__(self) -> str:
        if self.seconds is None:
            return "-"
        return f"{'>' if self.still_missing else ''}{self.seconds:.1f} s"


@dataclass
class Row:
    scenario: str
    sent: int = 0
    accepted: int = 0
    refused_503: int = 0
    other: int = 0
    stored: int = 0
    pages_expected: int = 0
    delivered: int = 0
    duplicated: int = 0
    page_delay: Delay = field(default_factory=Delay)
    escalation_delay: Delay = field(default_factory=Delay)
    headline_delay: str = "page"  # which delay the table shows: "page" (every owed page) or "escalation"
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def lost_alerts(self) -> int:
        return self.accepted - self.stored

    @property
    def lost(self) -> int:
        return self.lost_alerts + self.pages_expected - self.delivered

    @property
    def worst_delay(self) -> Delay:
        return self.escalation_delay if self.headline_delay == "escalation" else self.page_delay

    @property
    def passed(self) -> bool:
        return self.error is None and self.lost == 0 and self.duplicated == 0 and self.other == 0


def level_of(delivery: Delivery) -> int:
    match = ESCALATED.search(delivery.body.get("message", ""))
    return int(match.group(1)) if match else 0


@dataclass
class Ledger:
    """Everything a scenario owes; `account()` checks it against the database and a receiver."""

    scenario: str
    clock: PlatformClock
    query: Callable[..., list[tuple]]
    load: LoadResult = field(default_factory=LoadResult)
    escalations: list[EscalationDue] = field(default_factory=list)
    headline_delay: str = "page"

    def record(self, result: LoadResult) -> None:
        self.load = self.load.merge(result)

    def incidents_by_group(self) -> dict[Group, set[str]]:
        found: dict[Group, set[str]] = {}
        for incident_id, service, severity in self.query("SELECT id::text, service, severity FROM incident_management.incidents"):
            found.setdefault((service, severity), set()).add(incident_id)
        return found

    def account(self, deliveries: list[Delivery]) -> Row:
        now = self.clock.now()
        row = Row(self.scenario, sent=self.load.sent, accepted=len(self.load.accepted), headline_delay=self.headline_delay)
        row.refused_503, row.other = self.load.refused_503, sum(self.load.other.values())
        stored = self.query(
            "SELECT status, count(*) FROM alert_ingestion.alerts WHERE id = ANY(%s::uuid[]) GROUP BY status", (list(self.load.accepted),)
        )
        row.stored = sum(count for _, count in stored)
        first: dict[PageKey, datetime] = {}
        for delivery in deliveries:
            key = (delivery.body.get("incident_id", ""), level_of(delivery))
            first[key] = min(delivery.at, first.get(key, delivery.at))
        groups = self.incidents_by_group()
        owed_initial = 0
        for group, sent_at in self.load.first_accepted.items():
            owed_initial += 1
            arrivals = [first[(incident, 0)] for incident in groups.get(group, ()) if (incident, 0) in first]
            self._settle(row, row.page_delay, sent_at, min(arrivals) if arrivals else None, now)
        for due in self.escalations:
            arrived = first.get((due.incident_id, due.level))
            became_due = self.clock.became_due(due.deadline)
            self._settle(row, row.escalation_delay, became_due, arrived, now)
            row.page_delay.add(((arrived or now) - became_due).total_seconds(), missing=arrived is None)
        row.pages_expected = owed_initial + len(self.escalations)
        same_page = Counter((d.body.get("incident_id"), level_of(d), d.body.get("recipient")) for d in deliveries)
        row.duplicated = sum(count - 1 for count in same_page.values())
        self._notes(row, stored, deliveries, groups, first)
        return row

    @staticmethod
    def _settle(row: Row, delay: Delay, due: datetime, arrived: datetime | None, now: datetime) -> None:
        row.delivered += arrived is not None
        delay.add(((arrived or now) - due).total_seconds(), missing=arrived is None)

    def _notes(
        self, row: Row, stored: list[tuple], deliveries: list[Delivery], groups: dict[Group, set[str]], first: dict[PageKey, datetime]
    ) -> None:
        if row.other:
            row.notes.append("other answers: " + ", ".join(f"{what} x{n}" for what, n in self.load.other.most_common()))
        if row.lost:
            missing = row.pages_expected - row.delivered
            row.notes.append(f"lost: {row.lost_alerts} accepted alerts not stored, {missing} pages never delivered")
        pending = sum(count for status, count in stored if status != "correlated")
        if pending:
            row.notes.append(f"{pending} stored alerts still not correlated at the end: " + ", ".join(f"{s} {n}" for s, n in stored))
        owed = {(incident, 0) for group in self.load.first_accepted for incident in groups.get(group, ())}
        owed |= {(due.incident_id, due.level) for due in self.escalations}
        if unexpected := [key for key in first if key not in owed]:
            row.notes.append(f"{len(unexpected)} pages nobody owed (an extra incident or an early escalation)")
        if split := sum(len(groups.get(group, ())) > 1 for group in self.load.first_accepted):
            row.notes.append(f"{split} alert groups opened more than one incident")
        if self.escalations and self.headline_delay == "escalation":
            row.notes.append(f"worst first-page delay {row.page_delay}; escalation delay is measured from each level's deadline")


async def drain(ledger: Ledger, deliveries: Callable[[], list[Delivery]], *, seconds: float, tick: Callable[[], None] | None = None) -> Row:
    """Wait (at most `seconds`) until every owed page arrived, then a moment more for late duplicates."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        row = await asyncio.to_thread(ledger.account, deliveries())
        if row.delivered == row.pages_expected:
            break
        if tick is not None:
            tick()
        await asyncio.sleep(0.5)
    await asyncio.sleep(1.0)
    return await asyncio.to_thread(ledger.account, deliveries())
