"""wrk as the load generator of the benchmarks, with bench/post-alerts.lua: POSTs alerts (to the
platform, or to Alertmanager's /api/v2/alerts), optionally a counted number of them (paced to a rate, or
at once, e.g. each for a service of its own), and prints one `BENCH {...}` line of figures, returned here
as a dict."""

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterable

from support import ROOT

SCRIPT = ROOT / "bench" / "post-alerts.lua"
STOPPED = "BENCH-STOPPED"  # a thread of an unpaced counted run has its share answered


def ensure_wrk() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: run `make bench` (or scripts/install-system-packages.sh)")


def figures_of(output: Iterable[str]) -> dict:
    """The figures of wrk's `BENCH {...}` line."""
    line = next((line for line in output if line.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError("wrk printed no BENCH line")
    return json.loads(line.removeprefix("BENCH "))


def run_wrk(url: str, *, seconds: int, connections: int, threads: int = 2, **options: str | int) -> dict:
    """One wrk run; `options` become the script's BENCH_* variables (e.g. services=20, rate=1000,
    count=10000, service="storm", prefix="flood", target="alertmanager", integration_key=...). A counted
    run without a rate ends when every thread has its share answered, `seconds` being then its longest.
    Figures: created (answers that accepted the alert), other, errors (socket), duration_us, busy_us
    (counted runs: first request to last answer), p50_us/p90_us/p99_us/max_us."""
    options["threads"] = threads
    env = {**os.environ, **{f"BENCH_{name.upper()}": str(value) for name, value in options.items()}}
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "--latency", "-s", str(SCRIPT), url]
    output, stopped = [], 0
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as wrk:
        for line in wrk.stdout:
            output.append(line)
            if line.startswith(STOPPED):
                stopped += 1
                if stopped == threads:
                    wrk.send_signal(signal.SIGINT)  # wrk's main thread waits out -d; SIGINT ends the wait
    if wrk.returncode:
        raise subprocess.CalledProcessError(wrk.returncode, command, "".join(output))
    return figures_of(output)
