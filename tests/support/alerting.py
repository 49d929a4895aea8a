"""The machine's real Prometheus and Alertmanager (MACHINE.md), spawned on free loopback ports with a
test's own rules and receivers, and scrape targets whose metrics the test writes."""

import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from tests.support.servers import free_port, serve_in_thread


def require_binaries() -> None:
    for binary in ("prometheus", "prometheus-alertmanager"):
        assert shutil.which(binary), f"{binary} missing: scripts/install-system-packages.sh installs it"


def spawn(argv: list[str], log: Path) -> subprocess.Popen:
    """A real binary, its output appended to `log`."""
    return subprocess.Popen(argv, stdout=log.open("ab"), stderr=subprocess.STDOUT)


@contextmanager
def metrics_target(render: Callable[[], str]) -> Iterator[str]:
    """A scrape target serving `render()` at /metrics; yields its `host:port`."""
    app = FastAPI()
    app.get("/metrics", response_class=PlainTextResponse)(render)
    with serve_in_thread(app) as url:
        yield url.removeprefix("http://")


class LocalAlerting:
    """Alertmanager with `alertmanager_config`, and Prometheus evaluating `rules` every second (scraping
    `scrape_target` if given) and sending to that Alertmanager; files and logs in `workdir`.
    A context manager: both run inside the `with`."""

    def __init__(self, workdir: Path, *, alertmanager_config: str, rules: str, scrape_target: str | None = None) -> None:
        self.workdir = workdir
        self.alertmanager_port, self.prometheus_port = free_port(), free_port()
        self.processes: dict[str, subprocess.Popen] = {}
        (workdir / "alertmanager.yml").write_text(alertmanager_config)
        (workdir / "rules.yml").write_text(rules)
        scrape = f'scrape_configs:\n  - job_name: e2e\n    static_configs: [{{targets: ["{scrape_target}"]}}]\n' if scrape_target else ""
        (workdir / "prometheus.yml").write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [{workdir / "rules.yml"}]
alerting:
  alertmanagers: [{{static_configs: [{{targets: ["127.0.0.1:{self.alertmanager_port}"]}}]}}]
{scrape}""")

    @property
    def alertmanager_url(self) -> str:
        return f"http://127.0.0.1:{self.alertmanager_port}"

    def start_alertmanager(self) -> None:
        argv = [
            "prometheus-alertmanager",
            f"--config.file={self.workdir / 'alertmanager.yml'}",
            f"--storage.path={self.workdir / 'am'}",
            f"--web.listen-address=127.0.0.1:{self.alertmanager_port}",
            "--cluster.listen-address=",
        ]
        self.processes["alertmanager"] = spawn(argv, self.workdir / "alertmanager.log")

    def stop_alertmanager(self) -> None:
        self._stop(self.processes["alertmanager"])

    def __enter__(self) -> "LocalAlerting":
        try:
            self.start_alertmanager()
            argv = [
                "prometheus",
                f"--config.file={self.workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.workdir / 'prom'}",
                f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
                "--rules.alert.resend-delay=1s",
            ]
            self.processes["prometheus"] = spawn(argv, self.workdir / "prometheus.log")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        for process in self.processes.values():
            self._stop(process)

    @staticmethod
    def _stop(process: subprocess.Popen) -> None:
        process.terminate()
        process.wait(timeout=30)
