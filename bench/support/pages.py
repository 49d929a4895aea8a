"""Alerts that open incidents, and the pages they owe: a paced sender (one alert per new service at a
steady rate, each POST's time kept), waiting until every incident's page has arrived, and the delay
from each alert's POST to its incident's first page, with the figures printed as percentiles."""

import asyncio
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from support.platform import BenchPlatform


@dataclass
class Sent:
    at: dict[str, datetime] = field(default_factory=dict)  # service -> when its alert was POSTed
    refused: Counter = field(default_factory=Counter)  # answers other than 201, transport errors


async def send_paced(url: str, services: list[str], *, rate: float, now: Callable[[], datetime], connections: int = 64) -> Sent:
    """One critical alert per service, the i-th POSTed i / rate seconds after the first."""
    sent = Sent()
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=connections)) as client:

        async def post(service: str) -> None:
            sent.at[service] = now()
            body = {"service": service, "severity": "critical", "message": f"{service} is down"}
            try:
                response = await client.post(url, json=body)
            except httpx.HTTPError as exc:
                sent.refused[type(exc).__name__] += 1
                return
            if response.status_code != 201:
                sent.refused[f"HTTP {response.status_code}"] += 1

        started = time.monotonic()
        tasks = []
        for number, service in enumerate(services):
            await asyncio.sleep(max(0.0, started + number / rate - time.monotonic()))
            tasks.append(asyncio.create_task(post(service)))
        await asyncio.gather(*tasks)
    return sent


def incidents_of(platform: BenchPlatform, services: list[str]) -> dict[str, list[str]]:
    """service -> its incidents' ids."""
    found: dict[str, list[str]] = {}
    rows = platform.query("SELECT service, id::text FROM incident_management.incidents WHERE service = ANY(%s)", (services,))
    for service, incident_id in rows:
        found.setdefault(service, []).append(incident_id)
    return found


async def wait_for_pages(platform: BenchPlatform, services: list[str], *, seconds: float) -> float:
    """Wait (at most `seconds`) until each service has an incident and every incident of theirs a page,
    then one more second for late duplicates. Returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        incidents = await asyncio.to_thread(incidents_of, platform, services)
        paged = {incident_id for _, incident_id in platform.pages()}
        owed = [i for ids in incidents.values() for i in ids]
        if len(incidents) == len(services) and paged.issuperset(owed):
            break
        await asyncio.sleep(0.25)
    waited = time.monotonic() - started
    await asyncio.sleep(1.0)
    return waited


@dataclass
class PageFigures:
    delays: list[float] = field(default_factory=list)  # seconds, alert POST -> first page of its incident
    no_incident: int = 0
    extra_incidents: int = 0  # incidents beyond one per service
    unpaged: int = 0  # incidents without a page
    duplicates: int = 0  # pages beyond one per incident
    last_page: datetime | None = None


def page_figures(platform: BenchPlatform, sent: dict[str, datetime]) -> PageFigures:
    """Match every page to the alert that opened its incident."""
    figures = PageFigures()
    pages = platform.pages()
    first: dict[str, datetime] = {}
    per_incident = Counter(incident_id for _, incident_id in pages)
    for at, incident_id in pages:
        first[incident_id] = min(at, first.get(incident_id, at))
    incidents = incidents_of(platform, list(sent))
    for service, posted in sent.items():
        ids = incidents.get(service, [])
        figures.no_incident += not ids
        figures.extra_incidents += max(0, len(ids) - 1)
        for incident_id in ids:
            if incident_id not in first:
                figures.unpaged += 1
                continue
            figures.duplicates += per_incident[incident_id] - 1
            figures.delays.append((first[incident_id] - posted).total_seconds())
            figures.last_page = max(first[incident_id], figures.last_page or first[incident_id])
    return figures


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def ms_line(values: list[float], scale: float = 1000) -> str:
    """`p50 … p90 … p99 … max …` in milliseconds (values in seconds, or pass scale=1 for ms)."""
    if not values:
        return "no samples"
    quantiles = (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))
    return "  ".join(f"{name} {percentile(values, q) * scale:>7.1f}" for name, q in quantiles) + " ms"


STAGES = """
SELECT extract(epoch FROM i.created_at - a.received_at),
       extract(epoch FROM p.sent_at - i.created_at),
       extract(epoch FROM n.sent_at - n.created_at)
FROM alert_ingestion.alerts a
JOIN incident_management.incidents i ON i.id = a.incident_id
JOIN incident_management.pages p ON p.incident_id = i.id
JOIN notification.notifications n ON n.incident_id = i.id
WHERE a.service = ANY(%s) AND a.action = 'new_incident'
"""


def stage_lines(platform: BenchPlatform, services: list[str]) -> list[str]:
    """Where a page's time goes, from the platform's own timestamps: alert stored -> incident created
    (correlation), incident created -> page handed to notification-service (pager: on-call lookup, the
    notify call), notification created -> delivered (notification-service)."""
    rows = platform.query(STAGES, (services,))
    names = ("alert stored -> incident", "incident -> page handed over", "notification -> delivered")
    return [f"    {name:<30} {ms_line([float(row[n]) for row in rows if row[n] is not None])}" for n, name in enumerate(names)]
