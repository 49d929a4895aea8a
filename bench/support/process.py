"""A process a benchmark compares the platform with, started until healthy and always stopped."""

import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from platform_local.stack import wait_healthy


@contextmanager
def running(name: str, command: Sequence[str], health_url: str, log: Path, cwd: Path | None = None) -> Iterator[None]:
    """`command` running (output in `log`) once `health_url` answers 200; terminated at the end."""
    with open(log, "ab") as output:
        process = subprocess.Popen(command, cwd=cwd, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_healthy(name, process, health_url, 30, log)
        yield
    finally:
        process.terminate()
        process.wait(timeout=15)
