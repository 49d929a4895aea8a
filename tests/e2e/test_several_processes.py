"""A service served by several processes (`WEB_CONCURRENCY`, `platform_common.serve`) as one service:
real processes started the way `make run` and the benchmarks start them (`ALERT_INGESTION_WEB_CONCURRENCY`
sets alert-ingestion's alone): every scrape reports what all of them counted, a process that dies is
replaced without losing its counts, and stopping the service stops them all."""

import os
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from platform_common.process_group import children

pytestmark = pytest.mark.e2e

ALERTS = 40
COUNTED = re.compile(r'^http_requests_total\{method="POST",route="/api/v1/alerts",status="201"\} (\S+)$', re.M)


def _serving(supervisor: int) -> list[int]:
    """The supervisor's child processes that serve (multiprocessing's own helpers excluded)."""
    return [pid for pid in children(supervisor) if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()]


def _rss_bytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1)) * 1024


def _post_alert(url: str, number: int) -> int:
    # A client of its own for each alert: a fresh connection, which either process may accept.
    alert = {"service": f"multi-{number % 4}", "severity": "high", "message": f"alert {number}"}
    return httpx.post(f"{url}/api/v1/alerts", json=alert, timeout=10).status_code


def test_two_processes_serve_one_service_and_report_its_totals(start_stack, tmp_path: Path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left by an earlier run")  # emptied at start
    stack = start_stack("alert-ingestion", env={"ALERT_INGESTION_WEB_CONCURRENCY": "2", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})
    url = stack.url("alert-ingestion")
    supervisor = stack.processes["alert-ingestion"].pid
    workers = _serving(supervisor)
    assert len(workers) == 2, workers
    assert not (metrics_dir / "counter_1.db").exists()

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda number: _post_alert(url, number), range(ALERTS)))
    assert statuses == [201] * ALERTS

    # Whichever process answers the scrape, it answers for both: every alert counted once.
    _wait_counted(url, ALERTS)
    for _ in range(10):
        scraped = httpx.get(f"{url}/metrics", timeout=10).text
        assert [float(value) for value in COUNTED.findall(scraped)] == [ALERTS]
    memory = float(re.search(r"^process_resident_memory_bytes (\S+)$", scraped, re.M).group(1))
    assert memory > sum(_rss_bytes(pid) for pid in workers) * 0.8  # both serving processes, and their supervisor
    assert re.search(r"^process_cpu_seconds_total \S+$", scraped, re.M)
    assert {path.name.split("_")[-1] for path in metrics_dir.glob("*.db")} >= {f"{pid}.db" for pid in workers}
    assert httpx.get(f"{url}/ready", timeout=10).status_code == 200

    # A process that dies is replaced, and what it counted is still counted.
    os.kill(workers[0], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (len(_serving(supervisor)) != 2 or workers[0] in _serving(supervisor)):
        time.sleep(0.2)
    workers = _serving(supervisor)
    assert len(workers) == 2, workers
    _wait_ready(url)
    with ThreadPoolExecutor(max_workers=16) as pool:
        assert set(pool.map(lambda number: _post_alert(url, number), range(ALERTS, 2 * ALERTS))) == {201}
    _wait_counted(url, 2 * ALERTS)
    for _ in range(10):
        scraped = httpx.get(f"{url}/metrics", timeout=10).text
        assert [float(value) for value in COUNTED.findall(scraped)] == [2 * ALERTS]

    stack.stop("alert-ingestion")
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers), "a serving process outlived the service"


def _wait_counted(url: str, expected: int) -> None:
    """Until a scrape counts `expected` (a request is counted just after its answer is sent)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if [float(value) for value in COUNTED.findall(httpx.get(f"{url}/metrics", timeout=10).text)] == [expected]:
            return
        time.sleep(0.05)


def _wait_ready(url: str) -> None:
    """Until ten requests in a row, on fresh connections, find a process ready to answer."""
    deadline = time.monotonic() + 30
    answered = 0
    while answered < 10 and time.monotonic() < deadline:
        try:
            answered = answered + 1 if httpx.get(f"{url}/ready", timeout=5).status_code == 200 else 0
        except httpx.TransportError:
            answered = 0
            time.sleep(0.1)
    assert answered == 10


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only whether it exists
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status").read_text() if Path(f"/proc/{pid}/status").exists() else ""
    return "State:\tZ" not in status
