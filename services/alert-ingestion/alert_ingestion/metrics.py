"""alert-ingestion metrics (names fixed by SPEC.md §3)."""

from prometheus_client import Counter

ALERTS_RECEIVED = Counter("alerts_received_total", "Alerts accepted, by normalised severity", ["severity"])
ALERTS_BY_SERVICE = Counter("alerts_by_service_total", "Alerts accepted, by the service they are about", ["service"])
ALERTS_CORRELATED = Counter(
    "alerts_correlated_total", "Alerts correlated into an incident", ["result"]
)  # result: new_incident | existing_incident

ALERTS_DEDUPLICATED = Counter("alerts_deduplicated_total", "Repeated firing notifications for an alert already firing", ["source"])
ALERTS_RESOLVED = Counter("alerts_resolved_total", "Alerts resolved by their source", ["source"])


def count_correlation(action: str) -> None:
    ALERTS_CORRELATED.labels("new_incident" if action == "new_incident" else "existing_incident").inc()
