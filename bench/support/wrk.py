"""wrk as the load generator of the benchmarks, with bench/post-alerts.lua: POSTs alerts (to the
platform, or to Alertmanager's /api/v2/alerts), optionally paced to a rate and stopped after a count,
and prints one `BENCH {...}` line of figures, returned here as a dict."""

import json
import os
import shutil
import subprocess
import sys

from support import ROOT

SCRIPT = ROOT / "bench" / "post-alerts.lua"


def ensure_wrk() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: run `make bench` (or scripts/install-system-packages.sh)")


def run_wrk(url: str, *, seconds: int, connections: int, threads: int = 2, **options: str | int) -> dict:
    """One wrk run; `options` become the script's BENCH_* variables (e.g. services=20, rate=1000,
    count=10000, service="storm", target="alertmanager", integration_key=...). Figures: created (answers
    that accepted the alert), other, errors (socket), duration_us, p50_us/p90_us/p99_us/max_us."""
    options["threads"] = threads
    env = {**os.environ, **{f"BENCH_{name.upper()}": str(value) for name, value in options.items()}}
    result = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "--latency", "-s", str(SCRIPT), url],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("BENCH "))
    return json.loads(line.removeprefix("BENCH "))
