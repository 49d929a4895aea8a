"""HTTP request metrics shared by every service, and the `/metrics` response.

One process keeps its metrics in memory. Several processes serving one service (`platform_common.serve`)
each write theirs to files in `PROMETHEUS_MULTIPROC_DIR`, and whichever answers a scrape sums them all
(prometheus-client's multiprocess mode), with the collectors that read the database at scrape time and
the CPU and memory of the processes together (`platform_common.process_group`)."""

import os

from fastapi import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from platform_common.process_group import ProcessGroupCollector
from platform_common.serving_env import MULTIPROCESS_DIRECTORY

disable_created_metrics()  # the *_created series only add noise to every scrape

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests handled, by route template and status", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time spent handling HTTP requests, by route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
_READ_AT_SCRAPE: list[Collector] = []


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


def register_collector(collector: Collector) -> None:
    """Serve a collector that reads its figures when scraped (from the database, the same in every process)."""
    REGISTRY.register(collector)
    _READ_AT_SCRAPE.append(collector)


def unregister_collector(collector: Collector) -> None:
    REGISTRY.unregister(collector)
    _READ_AT_SCRAPE.remove(collector)


def metrics_response() -> Response:
    return Response(content=generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)


def _registry() -> CollectorRegistry:
    directory = os.environ.get(MULTIPROCESS_DIRECTORY)
    if not directory:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    registry.register(ProcessGroupCollector())
    for collector in _READ_AT_SCRAPE:
        registry.register(collector)
    return registry
