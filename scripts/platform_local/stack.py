"""The platform's services as real processes on loopback ports: used by `make run`, the end-to-end
tests and the benchmarks. Each service is `python -m platform_common.serve <package>.main:app` (uvicorn,
`WEB_CONCURRENCY` processes) in its own directory."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
# How long a service keeps an idle client connection open (uvicorn's default is 5 s). Longer than the
# idle expiry of common HTTP clients (httpx: 5 s), so they drop an idle connection before the server
# does instead of sending a request into one the server is closing (a reset). nginx's default is 75 s
# too; the Dockerfiles pass the same value.
KEEP_ALIVE_SECONDS = "75"


def wait_healthy(name: str, process: subprocess.Popen, health_url: str, timeout: float, log: Path) -> None:
    """Wait until `health_url` answers 200; raises if the process exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}; see {log}")
        try:
            if httpx.get(health_url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not become healthy in {timeout}s; see {log}")


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    package: str
    port: int
    url_env: str

    @property
    def directory(self) -> Path:
        return ROOT / "services" / self.name

    @property
    def processes_env(self) -> str:
        """The variable that sets this service's WEB_CONCURRENCY alone (ALERT_INGESTION_WEB_CONCURRENCY)."""
        return self.url_env.removesuffix("_URL") + "_WEB_CONCURRENCY"

    @property
    def available(self) -> bool:
        return (self.directory / self.package / "main.py").exists()


SERVICES = (
    ServiceSpec("alert-ingestion", "alert_ingestion", 8001, "ALERT_INGESTION_URL"),
    ServiceSpec("incident-management", "incident_management", 8002, "INCIDENT_MANAGEMENT_URL"),
    ServiceSpec("oncall-service", "oncall", 8003, "ONCALL_SERVICE_URL"),
    ServiceSpec("notification-service", "notification", 8004, "NOTIFICATION_SERVICE_URL"),
)
SPECS = {spec.name: spec for spec in SERVICES}


def port_env(spec: ServiceSpec) -> str:
    """The variable that overrides a service's port, e.g. ALERT_INGESTION_PORT."""
    return spec.url_env.removesuffix("_URL").removesuffix("_SERVICE") + "_PORT"


@dataclass
class Stack:
    database_url: str
    ports: dict[str, int]
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in SERVICES if spec.available and spec.name in self.ports]

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.ports[name]}"

    def service_env(self) -> dict[str, str]:
        env = {**os.environ, "DATABASE_URL": self.database_url, **self.env}
        for spec in SERVICES:
            if spec.name in self.ports:
                env[spec.url_env] = self.url(spec.name)
        return env

    def service_env_of(self, spec: ServiceSpec) -> dict[str, str]:
        """The environment of one service: `<SERVICE>_WEB_CONCURRENCY`, when set, is its WEB_CONCURRENCY."""
        env = self.service_env()
        if env.get(spec.processes_env):
            env["WEB_CONCURRENCY"] = env[spec.processes_env]
        return env

    def launch(self, name: str) -> subprocess.Popen:
        """Start one service without waiting for it (its own process group; `make run` restarts it with
        this); the process replaces any earlier one in `processes`."""
        spec = SPECS[name]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{name}.log", "ab") as log:  # the child keeps its own copy of the descriptor
            self.processes[name] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "platform_common.serve",
                    f"{spec.package}.main:app",
                    "--host",
                    self.host,
                    "--port",
                    str(self.ports[name]),
                    "--no-access-log",
                    "--timeout-keep-alive",
                    KEEP_ALIVE_SECONDS,
                ],
                cwd=spec.directory,
                env=self.service_env_of(spec),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self.processes[name]

    def start(self, *names: str, timeout: float = 60) -> None:
        """Start the named services (default: all available) and wait until each answers /health."""
        chosen = list(names) or self.names
        for name in chosen:
            self.launch(name)
        for name in chosen:
            wait_healthy(name, self.processes[name], f"{self.url(name)}/health", timeout, self.log_dir / f"{name}.log")

    def stop(self, *names: str) -> None:
        """Stop the named services (default: all) with SIGTERM, then SIGKILL after a grace period."""
        chosen = list(names) or list(self.processes)
        for name in chosen:
            process = self.processes.get(name)
            if process and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for name in chosen:
            process = self.processes.pop(name, None)
            if process is None:
                continue
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
