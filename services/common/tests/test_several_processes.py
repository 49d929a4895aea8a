"""Several processes serving one service (`platform_common.serve`, `WEB_CONCURRENCY`): the setting is
checked, their metrics files start empty, and `/metrics` adds up what real processes recorded, with the
CPU and memory of the whole group (`platform_common.process_group`). The services started this way are
in tests/e2e/test_several_processes.py."""

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from platform_common import metrics, serve
from platform_common.process_group import ProcessGroupCollector, children
from platform_common.serving_env import SUPERVISOR_PID

RECORDS = textwrap.dedent(
    """
    import sys
    from platform_common.metrics import observe_request
    for _ in range(int(sys.argv[1])):
        observe_request("POST", "/api/v1/alerts", 201, 0.003)
    """
)


@pytest.mark.parametrize("raw", ["0", "-1", "two", "1.5"])
def test_a_web_concurrency_that_is_not_a_count_of_processes_stops_the_start(raw: str):
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY must be a whole number"):
        serve.processes({"WEB_CONCURRENCY": raw})


@pytest.mark.parametrize(("environ", "expected"), [({}, 1), ({"WEB_CONCURRENCY": ""}, 1), ({"WEB_CONCURRENCY": " 3 "}, 3)])
def test_web_concurrency_defaults_to_one_process(environ: dict[str, str], expected: int):
    assert serve.processes(environ) == expected


def test_one_process_keeps_its_metrics_in_memory():
    environ: dict[str, str] = {"WEB_CONCURRENCY": "1"}
    assert serve.prepare_metrics(environ) is None
    assert environ == {"WEB_CONCURRENCY": "1"}


def test_several_processes_start_from_an_emptied_metrics_directory(tmp_path: Path):
    (tmp_path / "counter_123.db").write_bytes(b"an earlier run")
    (tmp_path / "notes.txt").write_text("not ours")
    environ = {"WEB_CONCURRENCY": "2", serve.MULTIPROCESS_DIRECTORY: str(tmp_path)}
    assert serve.prepare_metrics(environ) == str(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]
    assert environ[SUPERVISOR_PID] == str(os.getpid())


def test_a_directory_made_for_the_metrics_is_removed_when_the_service_stops(monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    for name in (serve.MULTIPROCESS_DIRECTORY, SUPERVISOR_PID):  # unset now, and again afterwards
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    with pytest.raises(SystemExit) as stopped:
        serve.main(["--help"])  # uvicorn itself: prints its options and exits
    assert stopped.value.code == 0
    assert "--workers" in capsys.readouterr().out
    made = Path(os.environ[serve.MULTIPROCESS_DIRECTORY])
    assert made.name.startswith("platform-metrics-") and not made.exists()


class _Open(Collector):
    def collect(self):
        yield GaugeMetricFamily("incidents_open", "Open incidents, read at scrape time", value=7)


def test_a_scrape_adds_up_every_process_and_reads_the_database_collectors_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    environ = {**os.environ, serve.MULTIPROCESS_DIRECTORY: str(tmp_path)}
    for count in (3, 5):
        subprocess.run([sys.executable, "-c", RECORDS, str(count)], env=environ, check=True, timeout=60)
    monkeypatch.setenv(serve.MULTIPROCESS_DIRECTORY, str(tmp_path))
    collector = _Open()
    metrics.register_collector(collector)
    try:
        scraped = metrics.metrics_response().body.decode()
    finally:
        metrics.unregister_collector(collector)
    assert re.findall(r'^http_requests_total\{method="POST",route="/api/v1/alerts",status="201"\} (\S+)$', scraped, re.M) == ["8.0"]
    assert re.findall(r'^http_request_duration_seconds_count\{method="POST",route="/api/v1/alerts"\} (\S+)$', scraped, re.M) == ["8.0"]
    assert re.findall(r"^incidents_open (\S+)$", scraped, re.M) == ["7.0"]
    assert "process_resident_memory_bytes" in scraped
    assert collector not in metrics._READ_AT_SCRAPE


def _sample(collector: Collector, name: str) -> float:
    (value,) = [sample.value for family in collector.collect() for sample in family.samples if sample.name == name]
    return value


def test_the_group_reports_the_cpu_and_memory_of_its_processes_together():
    alone = ProcessGroupCollector(supervisor=os.getpid)
    memory_alone = _sample(alone, "process_resident_memory_bytes")
    started_alone = _sample(alone, "process_start_time_seconds")
    cpu_alone = _sample(alone, "process_cpu_seconds_total")  # before: this process's CPU only grows
    child = subprocess.Popen([sys.executable, "-c", "import sys; data = bytearray(64 << 20); sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        child_memory = 0
        for _ in range(400):  # until the child holds its 64 MB
            status = Path(f"/proc/{child.pid}/status").read_text()
            child_memory = int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1)) * 1024
            if child_memory > 64 << 20:
                break
            time.sleep(0.05)
        group = ProcessGroupCollector(supervisor=os.getpid)
        assert child.pid in children(os.getpid())
        assert _sample(group, "process_resident_memory_bytes") >= memory_alone + child_memory * 0.9
        assert _sample(group, "process_start_time_seconds") == started_alone  # the earliest: this process
        assert _sample(group, "process_cpu_seconds_total") >= cpu_alone
    finally:
        child.communicate(b"", timeout=30)
