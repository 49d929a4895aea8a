"""alert-ingestion metrics (names fixed by SPEC.md §3)."""

from prometheus_client import Counter

from alert_ingestion.schemas import AlertIn
from platform_common.labels import BoundedLabel

ALERTS_RECEIVED = Counter("alerts_received_total", "Alerts accepted, by normalised severity", ["severity"])
ALERTS_BY_SERVICE = Counter("alerts_by_service_total", "Alerts accepted, by the service they are about", ["service"])
# At most METRICS_MAX_SERVICES distinct `service` values (set at start-up); later ones count as "other".
SERVICES = BoundedLabel(500)
ALERTS_CORRELATED = Counter(
    "alerts_correlated_total", "Alerts correlated into an incident", ["result"]
)  # result: new_incident | existing_incident

ALERTS_DEDUPLICATED = Counter("alerts_deduplicated_total", "Repeated firing notifications for an alert already firing", ["source"])
ALERTS_RESOLVED = Counter("alerts_resolved_total", "Alerts resolved by their source", ["source"])
# reason: silence | maintenance (a maintenance window)
ALERTS_SILENCED = Counter("alerts_silenced_total", "Alerts stored as silenced, opening and paging nothing", ["reason"])
ALERTS_DROPPED = Counter("alerts_dropped_total", "Alerts dropped by a routing rule (stored as dropped)", ["rule"])
RULES = BoundedLabel(500)  # distinct rule names in alerts_dropped_total


def count_correlation(action: str) -> None:
    ALERTS_CORRELATED.labels("new_incident" if action == "new_incident" else "existing_incident").inc()


def count_suppressed(status: str, *, rule: str | None, maintenance: bool) -> None:
    """A silenced or dropped alert (a stored one, not a replay)."""
    if status == "dropped":
        ALERTS_DROPPED.labels(RULES(rule or "")).inc()
    elif status == "silenced":
        ALERTS_SILENCED.labels("maintenance" if maintenance else "silence").inc()


def count_received(alert: AlertIn) -> None:
    ALERTS_RECEIVED.labels(str(alert.severity)).inc()
    ALERTS_BY_SERVICE.labels(SERVICES(alert.service)).inc()
