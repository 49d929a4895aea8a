"""Time read requests over real HTTP: each case sequentially, then with several in flight at once.

A case is a name and a list of URLs (one per request, so filters and pages vary); every answer must be
200, or the case fails the run.
"""

import asyncio
import statistics
import time
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Case:
    name: str
    urls: list[str]


@dataclass(frozen=True)
class Figures:
    p50: float
    p99: float
    max: float
    failures: int

    @classmethod
    def of(cls, samples: list[float], failures: int) -> "Figures":
        ordered = sorted(samples)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return cls(p50=statistics.median(ordered), p99=p99, max=ordered[-1], failures=failures)


def sequential(client: httpx.Client, case: Case) -> Figures:
    samples, failures = [], 0
    for url in case.urls:
        started = time.perf_counter()
        answer = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        failures += answer.status_code != 200
    return Figures.of(samples, failures)


async def _concurrent(case: Case, connections: int) -> Figures:
    samples, failures = [], 0
    slots = asyncio.Semaphore(connections)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=connections)) as client:

        async def one(url: str) -> None:
            nonlocal failures
            async with slots:
                started = time.perf_counter()
                answer = await client.get(url)
                samples.append((time.perf_counter() - started) * 1000)
                failures += answer.status_code != 200

        await asyncio.gather(*(one(url) for url in case.urls))
    return Figures.of(samples, failures)


def concurrent(case: Case, connections: int) -> Figures:
    return asyncio.run(_concurrent(case, connections))


def warm_up(client: httpx.Client, case: Case) -> None:
    for url in case.urls[:5]:
        client.get(url)
