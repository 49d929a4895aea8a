"""`alerts_by_service_total{service}` takes at most METRICS_MAX_SERVICES distinct services; more are
counted under service="other", so neither memory nor /metrics grows with whatever services are sent."""

import re
import uuid

import httpx

from alert_ingestion.metrics import SERVICES
from platform_common.labels import BoundedLabel
from tests.support.apps import ingestion_app, unreachable_url
from tests.support.servers import serve_in_thread


def by_service(metrics_text: str) -> dict[str, float]:
    return {
        service: float(value) for service, value in re.findall(r'^alerts_by_service_total\{service="([^"]*)"\} (\S+)$', metrics_text, re.M)
    }


def test_alerts_by_service_counts_at_most_the_configured_services(database_url, clean_db):
    prefix = f"bounded-{uuid.uuid4().hex[:8]}"
    app = ingestion_app(database_url, unreachable_url(), metrics_max_services=len(SERVICES) + 3)
    with serve_in_thread(app) as url, httpx.Client() as client:
        before = by_service(client.get(f"{url}/metrics").text)
        for i in range(40):
            alert = {"service": f"{prefix}-{i}", "severity": "low", "message": "m"}
            assert client.post(f"{url}/api/v1/alerts", json=alert).status_code == 201
        after = by_service(client.get(f"{url}/metrics").text)
    assert sorted(service for service in after if service.startswith(prefix)) == [f"{prefix}-0", f"{prefix}-1", f"{prefix}-2"]
    assert after["other"] - before.get("other", 0) == 37, "every alert is still counted"
    assert len(after) - len(before) <= 4
    assert len(SERVICES) == SERVICES.limit


def test_a_bounded_label_passes_known_values_and_folds_new_ones_into_other():
    label = BoundedLabel(2)
    assert [label(v) for v in ("a", "b", "c", "a", "d", "b")] == ["a", "b", "other", "a", "other", "b"]
    assert len(label) == 2
