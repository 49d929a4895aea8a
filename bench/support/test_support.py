"""Checks of the benchmarks' own instruments over real parts: the wrk script (paced: exact count; the
flood's one service per request: each of a numbered range exactly once) and the parsing of its output,
the SMTP inbox (a real SMTP conversation), the resource report (real processes' RSS and CPU) and the
percentiles.

Collected by `make test` (bench/ is in testpaths); alone:
`.venv/bin/python -m pytest bench/support/test_support.py -q -p no:cacheprovider`.
"""

import smtplib
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faults.receiver import Receiver

from support.ceiling import DURABLE_TABLE, running_ceiling
from support.pages import ms_line, percentile
from support.report import cpu_ms_per, cpu_seconds, own_cpu_seconds, rss_mb
from support.smtp import SmtpInbox
from support.wrk import ensure_wrk, figures_of, run_wrk
from tests.support.servers import free_port

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_percentile_is_the_nearest_rank():
    values = [float(n) for n in range(1, 101)]  # 1..100
    assert [percentile(values, q) for q in (50, 90, 99, 100)] == [50.0, 90.0, 99.0, 100.0]
    assert percentile([0.2, 0.1, 0.3], 50) == 0.2
    assert percentile([7.0], 99) == 7.0
    assert ms_line([0.001, 0.002]) == "p50     1.0  p90     2.0  p99     2.0  max     2.0 ms"
    assert ms_line([]) == "no samples"


def test_paced_wrk_sends_exactly_its_count_once_each():
    ensure_wrk()
    receiver = Receiver(free_port(), lambda: T0)
    receiver.start()
    try:
        figures = run_wrk(
            f"http://127.0.0.1:{receiver.port}/api/v2/alerts", seconds=5, connections=8, rate=200, count=101, target="alertmanager"
        )
    finally:
        receiver.stop()
    bodies = [delivery.body[0] for delivery in receiver.snapshot()]
    assert figures["created"] == 101 and figures["other"] == 0 and figures["errors"] == 0
    assert len(bodies) == 101
    assert len({body["labels"]["bench_id"] for body in bodies}) == 101  # each request a new alert
    assert figures["busy_us"] > 0  # the paced threads timed their first request and last answer


@pytest.mark.parametrize(("count", "threads", "connections"), [(301, 2, 32), (3, 4, 8)])  # (3, 4): a thread with no share
def test_each_request_of_the_flood_mode_is_a_service_of_its_own(count, threads, connections):
    ensure_wrk()
    receiver = Receiver(free_port(), lambda: T0)
    receiver.start()
    try:
        figures = run_wrk(
            f"http://127.0.0.1:{receiver.port}/api/v1/alerts",
            seconds=120,
            connections=connections,
            threads=threads,
            prefix="flood",
            first=10,
            count=count,
            severity="high",
        )
    finally:
        receiver.stop()
    bodies = [delivery.body for delivery in receiver.snapshot()]
    assert Counter(body["service"] for body in bodies) == Counter(f"flood-{n:05d}" for n in range(10, 10 + count))
    assert {body["severity"] for body in bodies} == {"high"}
    # The receiver answers 200 where the platform answers 201: each answer counts as `other`.
    assert figures["created"] == 0 and figures["other"] == count and figures["errors"] == 0
    assert figures["duration_us"] < 120 * 1_000_000  # wrk ended once every share was answered, not at -d


@pytest.mark.parametrize("processes", [1, 2])
def test_the_durable_floor_commits_every_alert_it_accepts_and_the_stack_alone_none(database_url, tmp_path, processes):
    ensure_wrk()
    with psycopg.connect(make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {DURABLE_TABLE}")
        conn.commit()
        try:
            with running_ceiling(tmp_path / "stack", processes=processes) as (base, _):
                alone = run_wrk(f"{base}/api/v1/alerts", seconds=60, connections=8, count=150, services=3)
            with running_ceiling(tmp_path / "durable", database_url, processes) as (base, process):
                durable = run_wrk(f"{base}/api/v1/alerts", seconds=60, connections=8, count=301, services=3)
                assert cpu_seconds(process.pid) > 0
            stored = conn.execute(f"SELECT service, count(*) FROM {DURABLE_TABLE} GROUP BY service ORDER BY service").fetchall()
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {DURABLE_TABLE}")
            conn.commit()
    assert alone["created"] == 150 and alone["other"] == 0 and alone["errors"] == 0
    assert durable["created"] == 301 and durable["other"] == 0 and durable["errors"] == 0
    assert sum(count for _, count in stored) == 301  # one committed row per 201, stored before it was sent
    assert [service for service, _ in stored] == ["bench-0", "bench-1", "bench-2"]


def test_the_figures_are_read_from_wrk_s_bench_line():
    output = [
        "Running 2m test @ http://127.0.0.1:1/api/v1/alerts\n",
        "BENCH-STOPPED\n",
        "  2 threads and 32 connections\n",
        'BENCH {"created": 3, "other": 1, "errors": 0, "duration_us": 1500, "busy_us": 1200, "p50_us": 7}\n',
    ]
    assert figures_of(output) == {"created": 3, "other": 1, "errors": 0, "duration_us": 1500, "busy_us": 1200, "p50_us": 7}
    with pytest.raises(RuntimeError, match="no BENCH line"):
        figures_of(output[:3])


def test_cpu_per_unit_is_the_difference_in_milliseconds():
    before, after = {"alert-ingestion": 1.0, "wrk": 0.5}, {"alert-ingestion": 1.3, "wrk": 0.5}
    assert cpu_ms_per(before, after, 100) == pytest.approx({"alert-ingestion": 3.0, "wrk": 0.0})
    assert cpu_ms_per(before, after, 0) == pytest.approx({"alert-ingestion": 300.0, "wrk": 0.0})  # no unit: the whole


def test_the_inbox_records_each_page_mail_with_its_incident():
    inbox = SmtpInbox(free_port(), lambda: T0)
    inbox.start()
    incident_id = str(uuid.uuid4())
    try:
        for subject in (f"[Incident {incident_id}] [CRITICAL] checkout down", "not a page"):
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = "platform@localhost", "p.checkout@example.org", subject
            message.set_content("body")
            with smtplib.SMTP("127.0.0.1", inbox.port, timeout=10) as smtp:
                smtp.send_message(message)
    finally:
        inbox.stop()
    assert inbox.snapshot() == [(T0, incident_id), (T0, None)]


def test_rss_counts_the_process_and_its_children():
    # The parent starts a child that allocates ~64 MB, then both wait for stdin to close.
    child = "import sys; b = bytearray(64 * 1024 * 1024); print('ready', flush=True); sys.stdin.read()"
    parent = (
        "import subprocess, sys; "
        f"c = subprocess.Popen([sys.executable, '-c', {child!r}], stdin=sys.stdin, stdout=subprocess.PIPE); "
        "c.stdout.readline(); print('ready', flush=True); c.wait()"
    )
    process = subprocess.Popen([sys.executable, "-c", parent], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        assert rss_mb(process.pid) > 64 + 2 * 5  # the child's buffer, plus two interpreters
    finally:
        process.stdin.close()
        process.wait(timeout=10)


def test_cpu_counts_the_time_a_child_spends_working():
    busy = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass\nprint('done', flush=True)\ninput()"
    process = subprocess.Popen([sys.executable, "-c", busy], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "done"
        assert cpu_seconds(process.pid) >= 0.5
    finally:
        process.stdin.close()
        process.wait(timeout=10)


def test_own_cpu_counts_this_process_working():
    before = own_cpu_seconds()
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    assert own_cpu_seconds() - before >= 0.2
