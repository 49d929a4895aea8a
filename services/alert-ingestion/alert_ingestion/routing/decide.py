"""What happens to one alert, decided in memory from a snapshot of the routing state (pure):

1. Routing rules, in order; the first whose matchers all match (and whose integration, if it names one,
   sent the alert) applies: set service, set severity, or drop (stored `dropped`, never correlated).
2. Silences, on the routed alert: an active one whose matchers all match → stored `silenced`.
3. Maintenance windows of the routed alert's service: an active one → stored `silenced`.
4. Grouping of the routed service: the group key (service + severity + its `group_by` label values) and
   the correlation window the alert is correlated with.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from alert_ingestion.routing.matchers import Matcher, matches_all
from alert_ingestion.routing.schedule import once_active, weekly_active
from alert_ingestion.schemas import AlertIn
from platform_common.severity import Severity


@dataclass(frozen=True)
class Rule:
    id: UUID
    name: str
    matchers: tuple[Matcher, ...]
    integration_id: UUID | None = None
    set_service: str | None = None
    set_severity: Severity | None = None
    drop: bool = False

    def applies(self, alert: AlertIn, integration_id: UUID | None) -> bool:
        return (self.integration_id is None or self.integration_id == integration_id) and matches_all(self.matchers, alert)


@dataclass(frozen=True)
class Silence:
    id: UUID
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime

    def silences(self, alert: AlertIn, at: datetime) -> bool:
        return once_active(at, starts_at=self.starts_at, ends_at=self.ends_at) and matches_all(self.matchers, alert)


@dataclass(frozen=True)
class MaintenanceWindow:
    id: UUID
    service: str
    # one-off: starts_at / ends_at; weekly: weekdays (0 = Monday) + start_time + duration + timezone
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    weekdays: tuple[int, ...] = ()
    start_time: time | None = None
    duration: timedelta | None = None
    timezone: str | None = None
    ended_at: datetime | None = None  # ended early (DELETE)

    def active(self, at: datetime) -> bool:
        if self.ended_at is not None and at >= self.ended_at:
            return False
        if self.starts_at is not None and self.ends_at is not None:
            return once_active(at, starts_at=self.starts_at, ends_at=self.ends_at)
        assert self.start_time is not None and self.duration is not None and self.timezone is not None
        return weekly_active(at, weekdays=self.weekdays, start=self.start_time, duration=self.duration, tz=ZoneInfo(self.timezone))


@dataclass(frozen=True)
class Grouping:
    group_by: tuple[str, ...] = ()
    window_seconds: int | None = None


@dataclass(frozen=True)
class Snapshot:
    rules: tuple[Rule, ...] = ()
    silences: tuple[Silence, ...] = ()
    windows: dict[str, tuple[MaintenanceWindow, ...]] = field(default_factory=dict)  # by service
    grouping: dict[str, Grouping] = field(default_factory=dict)  # by service
    default_window_seconds: int = 300

    def window_seconds(self, service: str) -> int:
        configured = self.grouping.get(service)
        return configured.window_seconds if configured and configured.window_seconds else self.default_window_seconds


@dataclass(frozen=True)
class Decision:
    alert: AlertIn  # after the matching rule's actions
    status: str  # pending (to be correlated) | silenced | dropped
    rule: Rule | None = None
    silence_id: UUID | None = None
    maintenance_window_id: UUID | None = None
    group_key: str | None = None
    window_seconds: int = 300


def group_key(group_by: tuple[str, ...], labels: dict[str, str]) -> str | None:
    """None for the default grouping (service + severity); else a short stable digest of the label values."""
    if not group_by:
        return None
    values = json.dumps([[name, labels.get(name, "")] for name in group_by], separators=(",", ":"))
    return "g1:" + hashlib.sha256(values.encode()).hexdigest()[:40]


def _route(rules: tuple[Rule, ...], alert: AlertIn, integration_id: UUID | None) -> tuple[AlertIn, Rule | None]:
    rule = next((rule for rule in rules if rule.applies(alert, integration_id)), None)
    if rule is None or rule.drop:
        return alert, rule
    changes = {"service": rule.set_service, "severity": rule.set_severity}
    return alert.model_copy(update={k: v for k, v in changes.items() if v is not None}), rule


def decide(snapshot: Snapshot, alert: AlertIn, *, integration_id: UUID | None, at: datetime) -> Decision:
    alert, rule = _route(snapshot.rules, alert, integration_id)
    if rule is not None and rule.drop:
        return Decision(alert, "dropped", rule=rule)
    if silence := next((s for s in snapshot.silences if s.silences(alert, at)), None):
        return Decision(alert, "silenced", rule=rule, silence_id=silence.id)
    if window := next((w for w in snapshot.windows.get(alert.service, ()) if w.active(at)), None):
        return Decision(alert, "silenced", rule=rule, maintenance_window_id=window.id)
    grouping = snapshot.grouping.get(alert.service, Grouping())
    return Decision(
        alert,
        "pending",
        rule=rule,
        group_key=group_key(grouping.group_by, alert.labels),
        window_seconds=snapshot.window_seconds(alert.service),
    )
