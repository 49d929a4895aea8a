"""When to try a notification again, and when to stop: pure decisions, no I/O.

Every notification gets a first retry budget: DELIVERY_MAX_ATTEMPTS attempts, the n-th failure waiting
min(max, base·2^(n-1)). A plain notification (its incident unknown to incident-management) then fails,
as it always did. A page of an incident that is still `open` (or whose state cannot be read) is not
abandoned: it becomes *failing* (reported on the timeline, counted by `notifications_failing`, its
fallback started) and is retried at the capped backoff until the incident is acknowledged (then it is
`cancelled`) or DELIVERY_GIVE_UP_SECONDS after it was accepted (then it is `failed`, and reported).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from notification.config import Settings
from notification.incidents import IncidentState
from notification.schemas import NotificationStatus

PAGE_FAILING = "page_failing"
PAGE_FAILED = "page_failed"


def backoff_seconds(failed_attempts: int, *, base: float, maximum: float) -> float:
    """Wait after the n-th failed attempt (n >= 1): base, 2·base, 4·base, ... capped at maximum."""
    if failed_attempts < 1:
        return 0.0
    return min(maximum, base * 2.0 ** min(failed_attempts - 1, 62))


@dataclass(frozen=True)
class Decision:
    status: NotificationStatus
    outcome: str  # the metric's status label: sent | retry | failed | cancelled
    next_attempt_at: datetime | None = None
    failing: bool = False  # past the first budget: counted as failing, its fallback started
    report: str | None = None  # a timeline event to record: page_failing | page_failed

    @property
    def starts_fallback(self) -> bool:
        return self.failing or self.status == NotificationStatus.FAILED


SENT = Decision(NotificationStatus.SENT, "sent")
CANCELLED = Decision(NotificationStatus.CANCELLED, "cancelled")


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float
    max_seconds: float
    max_attempts: int
    give_up_seconds: float = 86400.0

    @classmethod
    def from_settings(cls, settings: Settings) -> "RetryPolicy":
        return cls(
            settings.delivery_retry_base_seconds,
            settings.delivery_retry_max_seconds,
            settings.delivery_max_attempts,
            settings.delivery_give_up_seconds,
        )

    def _retry_at(self, failed_attempts: int, now: datetime) -> datetime:
        return now + timedelta(seconds=backoff_seconds(failed_attempts, base=self.base_seconds, maximum=self.max_seconds))

    def after_failure(
        self,
        failed_attempts: int,
        *,
        permanent: bool,
        now: datetime,
        created_at: datetime,
        already_failing: bool,
        incident: Callable[[], IncidentState],
    ) -> Decision:
        """What follows the n-th failed attempt. `incident` is asked only once the first budget is spent."""
        if permanent:
            return Decision(NotificationStatus.FAILED, "failed", report=PAGE_FAILED)
        if failed_attempts < self.max_attempts:
            return Decision(NotificationStatus.PENDING, "retry", self._retry_at(failed_attempts, now))
        state = incident()
        if state == IncidentState.UNKNOWN:
            return Decision(NotificationStatus.FAILED, "failed")
        if state == IncidentState.CLOSED:
            return CANCELLED
        if now - created_at >= timedelta(seconds=self.give_up_seconds):
            return Decision(NotificationStatus.FAILED, "failed", report=PAGE_FAILED)
        report = None if already_failing else PAGE_FAILING
        return Decision(NotificationStatus.PENDING, "retry", self._retry_at(failed_attempts, now), failing=True, report=report)
