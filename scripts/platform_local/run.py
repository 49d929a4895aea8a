"""`make run`: the whole platform on this machine without Docker.

A PostgreSQL cluster in `.local/pg` (data kept between runs), every service on its SPEC port (override
with e.g. ALERT_INGESTION_PORT), logs in `.local/logs`. Ctrl-C stops everything cleanly.
"""

import os
import signal
import sys
import threading
from pathlib import Path

from platform_local import prometheus_config
from platform_local.nginx import LocalNginx
from platform_local.postgres import LocalPostgres
from platform_local.stack import ROOT, SERVICES, Stack, port_env

LOCAL = ROOT / ".local"


def _start_prometheus(stack: Stack, ports: dict[str, int]) -> str:
    """The machine's Prometheus scraping the services with the platform's rules; returns its URL."""
    listen = f"127.0.0.1:{os.environ.get('PROMETHEUS_PORT', '9090')}"
    targets = {
        prometheus_config.PROMETHEUS_JOB: listen,
        **{name: f"127.0.0.1:{port}" for name, port in ports.items() if name in stack.names},
    }
    config = prometheus_config.write_config(LOCAL / "prometheus" / "prometheus.yml", targets=targets)
    stack.spawn(
        "prometheus", prometheus_config.prometheus_command(config, LOCAL / "prometheus" / "data", listen), f"http://{listen}/-/ready"
    )
    return f"http://{listen}"


def main() -> int:
    pg_port = int(os.environ.get("LOCAL_PG_PORT", "55432"))
    postgres = LocalPostgres(LOCAL / "pg", pg_port, durable=True)
    print(f"PostgreSQL: starting in {postgres.data} on 127.0.0.1:{pg_port}", flush=True)
    postgres.start()
    database_url = os.environ.get("DATABASE_URL") or postgres.create_database("incident_platform", init_sql=ROOT / "database" / "init.sql")
    ports = {spec.name: int(os.environ.get(port_env(spec), spec.port)) for spec in SERVICES}
    stack = Stack(database_url=database_url, ports=ports, log_dir=LOCAL / "logs")
    web_ui = LocalNginx(LOCAL / "nginx", int(os.environ.get("WEB_UI_PORT", "8080")), {name: stack.url(name) for name in stack.names})
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    try:
        stack.start()
        web_ui.start()
        prometheus = _start_prometheus(stack, ports)
        print("\nThe platform is running:")
        for name in stack.names:
            print(f"  {name:<22} {stack.url(name)}   (docs: {stack.url(name)}/docs)")
        print(f"  {'web-ui':<22} {web_ui.url}   (the UI and the API gateway)")
        print(f"  {'prometheus':<22} {prometheus}")
        print(f"  {'logs':<22} {Path(stack.log_dir)}")
        print("Ctrl-C stops everything.\n", flush=True)
        while not stopping.wait(1):
            for name, process in stack.processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; see {stack.log_dir / (name + '.log')}", flush=True)
                    stopping.set()
            if web_ui.process is not None and web_ui.process.poll() is not None:
                print(f"nginx exited with {web_ui.process.returncode}; see {web_ui.prefix / 'error.log'}", flush=True)
                stopping.set()
    finally:
        print("Stopping...", flush=True)
        web_ui.stop()
        stack.stop()
        postgres.stop()
        print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
