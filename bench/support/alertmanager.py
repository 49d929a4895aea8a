"""Prometheus Alertmanager (Debian's `prometheus-alertmanager`, started as `make run` does, see
platform_local.alertmanager) with a receiver that sends nothing: the in-memory ingest the platform's is
compared with in bench/ingest (`POST /api/v2/alerts`)."""

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from platform_local.alertmanager import alertmanager_command
from platform_local.stack import wait_healthy
from tests.support.servers import free_port

CONFIG = """\
route:
  receiver: discard
receivers:
  - name: discard
"""


@contextmanager
def running_alertmanager(workdir: Path) -> Iterator[str]:
    """Alertmanager on a free loopback port, stopped at the end; yields its base URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.yml"
    config.write_text(CONFIG)
    listen = f"127.0.0.1:{free_port()}"
    log = workdir / "alertmanager.log"
    with open(log, "ab") as output:
        process = subprocess.Popen(alertmanager_command(config, workdir / "data", listen), stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_healthy("alertmanager", process, f"http://{listen}/-/ready", 30, log)
        yield f"http://{listen}"
    finally:
        process.terminate()
        process.wait(timeout=15)
