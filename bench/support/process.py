"""A process a benchmark compares the platform with, started until healthy and always stopped."""

import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from platform_local.stack import wait_healthy


@contextmanager
def running(
    name: str, command: Sequence[str], health_url: str, log: Path, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    """`command` running (output in `log`) once `health_url` answers 200; terminated at the end. Yields
    the process."""
    with open(log, "ab") as output:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_healthy(name, process, health_url, 30, log)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=15)
