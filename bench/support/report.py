"""The resource report every benchmark prints at its end: each service's resident memory (VmRSS from
/proc, summed over the process and any workers it started) and the byte size of its `/metrics`; and
CPU time by process tree (utime + stime from /proc), for "where the time goes" per request: take
`cpu_by_process` before and after a run, and `cpu_ms_per` what the run did."""

import os
import resource
import subprocess
from collections.abc import Mapping
from pathlib import Path

import httpx

from platform_local.postgres import LocalPostgres
from platform_local.stack import Stack


def _tree(pid: int) -> list[int]:
    """`pid` and every process below it (from /proc/<pid>/task/*/children)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                queue += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue  # the thread or process ended meanwhile
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` and its descendants, in MB (VmRSS is in kB)."""
    total_kb = 0
    for member in _tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        total_kb += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total_kb / 1024


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by `pid` and its living descendants, in seconds."""
    ticks = 0
    for member in _tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def postmaster_pid(data_dir: Path) -> int:
    """The PostgreSQL server's main process (its backends are its children)."""
    return int((data_dir / "postmaster.pid").read_text().split()[0])


def cpu_by_process(stack: Stack, postgres: LocalPostgres) -> dict[str, float]:
    """CPU seconds used so far by each running service, PostgreSQL (server and backends), and this
    process's finished children (wrk)."""
    return cpu_of(stack.processes, postgres)


def cpu_of(processes: Mapping[str, subprocess.Popen], postgres: LocalPostgres | None) -> dict[str, float]:
    """CPU seconds used so far by each of `processes` (with its descendants), PostgreSQL (server and
    backends; None: not counted), and this process's finished children (wrk)."""
    used = {name: cpu_seconds(process.pid) for name, process in processes.items()}
    if postgres is not None:
        used["PostgreSQL"] = cpu_seconds(postmaster_pid(postgres.data))
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    used["wrk"] = children.ru_utime + children.ru_stime
    return used


def own_cpu_seconds() -> float:
    """CPU seconds used so far by this process, all its threads (a benchmark's receivers among them)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def cpu_ms_per(before: dict[str, float], after: dict[str, float], units: int) -> dict[str, float]:
    """Milliseconds of CPU each process spent per unit of work (an alert, an incident) between two takes."""
    return {name: (after[name] - before[name]) * 1000 / max(units, 1) for name in after}


def metrics_size(base_url: str) -> str:
    try:
        response = httpx.get(f"{base_url}/metrics", timeout=10)
    except httpx.HTTPError as exc:
        return f"unreachable ({type(exc).__name__})"
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    return f"{len(response.content):,} bytes"


def resource_lines(stack: Stack, title: str = "resources at the end") -> list[str]:
    """The report for the services of `stack` that were started, as printed lines."""
    lines = [f"  {title}:", "    service                  RSS MB   /metrics"]
    for name, process in stack.processes.items():
        if process.poll() is not None:
            lines.append(f"    {name:<22}  exited ({process.returncode})")
            continue
        lines.append(f"    {name:<22}  {rss_mb(process.pid):>6.1f}   {metrics_size(stack.url(name))}")
    return lines


def print_resources(stack: Stack, title: str = "resources at the end") -> None:
    print("\n".join(resource_lines(stack, title)))
