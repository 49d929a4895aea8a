"""Alert load: N concurrent asyncio senders POSTing alerts, and what came back.

Every answer is classified: 2xx (accepted: the alert id is kept to check it was stored), 503 with
`Retry-After` (SPEC §13: the only acceptable refusal while a dependency is down), anything else (a 5xx,
a 503 without Retry-After, a reset connection, a timeout). For each (service, severity) group the
platform time of its first accepted alert is kept: that is when its page became due.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx

Group = tuple[str, str]  # (service, severity)
Picker = Callable[[int, float], Group]  # (alert number, fraction of the run elapsed) -> its group


@dataclass
class LoadResult:
    sent: int = 0
    accepted: dict[str, Group] = field(default_factory=dict)  # alert id -> group
    first_accepted: dict[Group, datetime] = field(default_factory=dict)  # group -> when it was first sent
    refused_503: int = 0
    other: Counter = field(default_factory=Counter)  # what went wrong -> how often

    def merge(self, other: "LoadResult") -> "LoadResult":
        merged = LoadResult(self.sent + other.sent, {**self.accepted, **other.accepted}, dict(self.first_accepted))
        for group, at in other.first_accepted.items():
            merged.first_accepted[group] = min(at, merged.first_accepted.get(group, at))
        merged.refused_503 = self.refused_503 + other.refused_503
        merged.other = self.other + other.other
        return merged


async def send_alerts(
    url: str,
    pick: Picker,
    now: Callable[[], datetime],
    *,
    concurrency: int,
    count: int | None = None,
    seconds: float | None = None,
    label: str = "fault",
) -> LoadResult:
    """POST alerts to alert-ingestion until `count` are sent or `seconds` have passed."""
    result = LoadResult()
    started = time.monotonic()
    numbers = iter(range(count if count is not None else 10**9))

    def fraction() -> float:
        if seconds is not None:
            return min(1.0, (time.monotonic() - started) / seconds)
        return result.sent / count if count else 1.0

    async def sender(client: httpx.AsyncClient) -> None:
        for number in numbers:
            if seconds is not None and time.monotonic() - started >= seconds:
                return
            service, severity = pick(number, fraction())
            result.sent += 1
            sent_at = now()
            body = {"service": service, "severity": severity, "message": f"{label} alert {number}", "labels": {"bench": label}}
            posted = time.monotonic()
            try:
                response = await client.post(url, json=body)
            except httpx.HTTPError as exc:
                cause = exc.__cause__ or exc.__context__
                result.other[f"{type(exc).__name__} ({cause!r} after {time.monotonic() - posted:.2f} s)"] += 1
                continue
            if response.is_success:
                result.accepted[response.json()["alert_id"]] = (service, severity)
                group = (service, severity)
                result.first_accepted[group] = min(sent_at, result.first_accepted.get(group, sent_at))
            elif response.status_code == 503 and "retry-after" in response.headers:
                result.refused_503 += 1
            elif response.status_code == 503:
                result.other["503 without Retry-After"] += 1
            else:
                result.other[f"HTTP {response.status_code}"] += 1

    async with httpx.AsyncClient(timeout=15, limits=httpx.Limits(max_connections=concurrency)) as client:
        await asyncio.gather(*(sender(client) for _ in range(concurrency)))
    return result
