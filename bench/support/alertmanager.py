"""Prometheus Alertmanager (Debian's `prometheus-alertmanager`, started as `make run` does, see
platform_local.alertmanager) with a receiver that sends nothing: the in-memory ingest the platform's is
compared with in bench/ingest (`POST /api/v2/alerts`)."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from subprocess import Popen

from platform_local.alertmanager import alertmanager_command
from support.process import running
from tests.support.servers import free_port

CONFIG = """\
route:
  receiver: discard
receivers:
  - name: discard
"""


@contextmanager
def running_alertmanager(workdir: Path) -> Iterator[tuple[str, Popen]]:
    """Alertmanager on a free loopback port, stopped at the end; yields its base URL and its process."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.yml"
    config.write_text(CONFIG)
    listen = f"127.0.0.1:{free_port()}"
    command = alertmanager_command(config, workdir / "data", listen)
    with running("alertmanager", command, f"http://{listen}/-/ready", workdir / "alertmanager.log") as process:
        yield f"http://{listen}", process
