"""`incidents_created_total{service}` takes at most METRICS_MAX_SERVICES distinct services; more are
counted under service="other", so neither memory nor /metrics grows with whatever services are sent."""

import re
import uuid

from fastapi.testclient import TestClient

from incident_management.metrics import SERVICES
from tests.support.apps import incident_app


def created_series(metrics_text: str) -> dict[tuple[str, str], float]:
    pattern = re.compile(r'^incidents_created_total\{service="([^"]*)",severity="([^"]*)"\} (\S+)$', re.M)
    return {(service, severity): float(value) for service, severity, value in pattern.findall(metrics_text)}


def test_incidents_created_counts_at_most_the_configured_services(database_url, clean_db):
    prefix = f"bounded-{uuid.uuid4().hex[:8]}"
    with TestClient(incident_app(database_url, metrics_max_services=len(SERVICES) + 2)) as client:
        before = created_series(client.get("/metrics").text)
        for i in range(12):
            assert client.post("/api/v1/incidents", json={"title": "t", "service": f"{prefix}-{i}", "severity": "low"}).status_code == 201
        after = created_series(client.get("/metrics").text)
    assert sorted(service for service, _ in after if service.startswith(prefix)) == [f"{prefix}-0", f"{prefix}-1"]
    assert after[("other", "low")] - before.get(("other", "low"), 0) == 10
    assert len(after) - len(before) <= 3
