"""The CPU and memory of a service that several processes serve (`platform_common.serve`): the process
that started them and every process it started, under the names one process reports (`process_*`), so
the system-health dashboard reads the same series whatever `WEB_CONCURRENCY` is."""

import os
from collections.abc import Callable, Iterator

from prometheus_client import ProcessCollector
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from platform_common.serving_env import SUPERVISOR_PID

_EARLIEST = {"process_start_time_seconds"}  # the group started when its first process did
_FIRST = {"process_max_fds"}  # a limit, not an amount: the starting process's


def supervisor_pid() -> int:
    return int(os.environ.get(SUPERVISOR_PID) or os.getpid())


class ProcessGroupCollector(Collector):
    def __init__(self, supervisor: Callable[[], int] = supervisor_pid, proc: str = "/proc") -> None:
        self._supervisor = supervisor
        self._proc = proc

    def collect(self) -> Iterator[Metric]:
        supervisor = self._supervisor()
        totals: dict[str, tuple[Metric, float]] = {}
        for pid in (supervisor, *children(supervisor, self._proc)):
            for family in ProcessCollector(pid=lambda pid=pid: pid, proc=self._proc, registry=None).collect():
                value = family.samples[0].value
                if family.name in totals:
                    kept = totals[family.name][1]
                    value = min(kept, value) if family.name in _EARLIEST else kept if family.name in _FIRST else kept + value
                totals[family.name] = (family, value)
        for name, (family, value) in totals.items():
            kind = CounterMetricFamily if family.type == "counter" else GaugeMetricFamily
            yield kind(name, family.documentation, value=value)


def children(parent: int, proc: str = "/proc") -> list[int]:
    """The processes whose parent is `parent`, from /proc/<pid>/stat; those that end meanwhile are skipped."""
    found = []
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            with open(os.path.join(proc, entry, "stat"), "rb") as stat:
                parent_of_entry = int(stat.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent_of_entry == parent:
            found.append(int(entry))
    return found
