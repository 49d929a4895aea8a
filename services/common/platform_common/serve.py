"""Starting a service: `python -m platform_common.serve <package>.main:app [uvicorn's options]`.

`WEB_CONCURRENCY` processes serve the service's port (default 1; uvicorn's own setting: its supervisor
starts them and replaces one that dies). Every service runs as several processes as safely as it runs
as several replicas: leases, advisory locks and caches that expire within seconds coordinate them.
With more than one, each process writes its counters and histograms to files in
`PROMETHEUS_MULTIPROC_DIR` (a fresh temporary directory unless set; emptied here first, so a restart
does not count the last run twice) and every process's `/metrics` answers for the service as a whole
(`platform_common.metrics`).
"""

import os
import shutil
import sys
import tempfile
from collections.abc import MutableMapping, Sequence

import uvicorn.main

from platform_common.serving_env import MULTIPROCESS_DIRECTORY, SUPERVISOR_PID


def processes(environ: MutableMapping[str, str]) -> int:
    """The number of serving processes `WEB_CONCURRENCY` asks for; SystemExit when it is not one."""
    raw = environ.get("WEB_CONCURRENCY", "").strip() or "1"
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"WEB_CONCURRENCY must be a whole number of processes, 1 or more (got {raw!r})")
    return int(raw)


def prepare_metrics(environ: MutableMapping[str, str]) -> str | None:
    """For several processes (or a directory already set), the emptied directory their metrics files go
    to (set in `environ`, which the processes inherit); None for one process, which keeps its metrics in
    memory."""
    if processes(environ) == 1 and not environ.get(MULTIPROCESS_DIRECTORY):
        return None
    directory = environ.get(MULTIPROCESS_DIRECTORY) or tempfile.mkdtemp(prefix="platform-metrics-")
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.endswith(".db"):
            os.remove(os.path.join(directory, name))
    environ[MULTIPROCESS_DIRECTORY] = directory
    environ[SUPERVISOR_PID] = str(os.getpid())
    return directory


def main(argv: Sequence[str] | None = None) -> None:
    created = MULTIPROCESS_DIRECTORY not in os.environ
    directory = prepare_metrics(os.environ)
    try:
        uvicorn.main.main(args=list(sys.argv[1:] if argv is None else argv), prog_name="platform_common.serve")
    finally:
        if directory is not None and created:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
