"""notification-service metrics (names fixed by SPEC.md §6)."""

from prometheus_client import Counter, Histogram

from notification.schemas import ChannelName

NOTIFICATIONS_SENT = Counter(
    "notifications_sent_total",
    "Notifications that reached a final state (status=sent|failed), and failed attempts that will be retried (status=retry)",
    ["channel", "status"],
)
ONCALL_NOTIFICATIONS_SENT = Counter("oncall_notifications_sent_total", "Notifications delivered successfully", ["channel"])
DELIVERY_DURATION = Histogram(
    "notification_delivery_duration_seconds",
    "Time spent on one delivery attempt",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

for _channel in ChannelName:  # every series exists from the first scrape, at zero
    for _status in ("sent", "failed", "retry"):
        NOTIFICATIONS_SENT.labels(_channel, _status)
    ONCALL_NOTIFICATIONS_SENT.labels(_channel)


def count_attempt(channel: str, *, outcome: str, duration: float) -> None:
    """outcome: sent | failed (final) | retry (failed, another attempt is scheduled)."""
    DELIVERY_DURATION.labels(channel).observe(duration)
    NOTIFICATIONS_SENT.labels(channel, outcome).inc()
    if outcome == "sent":
        ONCALL_NOTIFICATIONS_SENT.labels(channel).inc()
