"""Checks of the benchmarks' own instruments over real parts: the paced wrk script (exact count), the
SMTP inbox (a real SMTP conversation), the resource report (real processes' RSS) and the percentiles.

Not collected by `make test` (bench/ is outside testpaths); run with
`.venv/bin/python -m pytest bench/support/test_support.py -q -p no:cacheprovider`.
"""

import smtplib
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faults.receiver import Receiver

from support.pages import ms_line, percentile
from support.report import cpu_seconds, rss_mb
from support.smtp import SmtpInbox
from support.wrk import ensure_wrk, run_wrk
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
