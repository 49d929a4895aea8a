"""`make run`: the whole platform on this machine without Docker, every process supervised.

PostgreSQL (data in `.local/pg`, kept between runs), the four services on their SPEC ports, the web UI's
nginx, Prometheus with the platform's rules, and Alertmanager, which mails the platform's own alerts
through its own SMTP relay (ALERTMANAGER_SMTP_SMARTHOST, default 127.0.0.1:1025). Logs in `.local/logs`.
Ports: ALERT_INGESTION_PORT, INCIDENT_MANAGEMENT_PORT, ONCALL_PORT, NOTIFICATION_PORT, WEB_UI_PORT,
PROMETHEUS_PORT, ALERTMANAGER_PORT, LOCAL_PG_PORT; PLATFORM_LOCAL_DIR moves `.local`.

A process that exits (a crash, `kill -9`, `pg_ctl stop`) is restarted with backoff while the others keep
running (platform_local.supervisor); each restart is printed. Ctrl-C (or SIGTERM) stops everything.
"""

import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from platform_local import alertmanager, prometheus_config
from platform_local.nginx import LocalNginx
from platform_local.postgres import LocalPostgres
from platform_local.stack import ROOT, SERVICES, Stack, port_env, wait_healthy
from platform_local.supervisor import Supervisor


def start_alertmanager(supervisor: Supervisor, local: Path) -> str:
    """The machine's Alertmanager on monitoring/alertmanager/, filled from the environment; its host:port."""
    listen = f"127.0.0.1:{os.environ.get('ALERTMANAGER_PORT', '9093')}"
    config = alertmanager.write_config(local / "alertmanager" / "alertmanager.yml", os.environ)
    argv = alertmanager.alertmanager_command(config, local / "alertmanager" / "data", listen)
    log = local / "logs" / "alertmanager.log"
    wait_healthy(
        "alertmanager", supervisor.start("alertmanager", functools.partial(_spawn, argv, log)), f"http://{listen}/-/ready", 60, log
    )
    return listen


def start_prometheus(supervisor: Supervisor, local: Path, stack: Stack, alertmanager_listen: str) -> str:
    """The machine's Prometheus scraping the services with the platform's rules; returns its URL."""
    listen = f"127.0.0.1:{os.environ.get('PROMETHEUS_PORT', '9090')}"
    targets = {
        prometheus_config.PROMETHEUS_JOB: listen,
        **{name: f"127.0.0.1:{stack.ports[name]}" for name in stack.names},
    }
    config = prometheus_config.write_config(local / "prometheus" / "prometheus.yml", targets=targets, alertmanagers=[alertmanager_listen])
    argv = prometheus_config.prometheus_command(config, local / "prometheus" / "data", listen)
    log = local / "logs" / "prometheus.log"
    wait_healthy("prometheus", supervisor.start("prometheus", functools.partial(_spawn, argv, log)), f"http://{listen}/-/ready", 60, log)
    return f"http://{listen}"


def _spawn(argv: list[str], log_path: Path) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _serve(supervisor: Supervisor, local: Path) -> None:
    """Start everything in dependency order, print where it is, then supervise until interrupted."""
    postgres = LocalPostgres(local / "pg", int(os.environ.get("LOCAL_PG_PORT", "55432")), durable=True)
    print(f"PostgreSQL: starting in {postgres.data} on 127.0.0.1:{postgres.port}", flush=True)
    postgres.wait_ready(supervisor.start("postgres", postgres.launch, stop_signal=signal.SIGINT))  # SIGINT: fast shutdown
    database_url = os.environ.get("DATABASE_URL") or postgres.create_database("incident_platform", init_sql=ROOT / "database" / "init.sql")
    ports = {spec.name: int(os.environ.get(port_env(spec), spec.port)) for spec in SERVICES}
    stack = Stack(database_url=database_url, ports=ports, log_dir=local / "logs")
    for name in stack.names:
        supervisor.start(name, functools.partial(stack.launch, name))
    for name in stack.names:
        wait_healthy(name, stack.processes[name], f"{stack.url(name)}/health", 60, stack.log_dir / f"{name}.log")

    web_ui = LocalNginx(local / "nginx", int(os.environ.get("WEB_UI_PORT", "8080")), {name: stack.url(name) for name in stack.names})
    web_ui.prefix.mkdir(parents=True, exist_ok=True)
    web_ui.render()
    web_ui.check()
    wait_healthy(
        "web-ui",
        supervisor.start("web-ui", web_ui.launch, stop_signal=signal.SIGQUIT),
        f"{web_ui.url}/health",
        15,
        web_ui.prefix / "error.log",
    )
    alertmanager_listen = start_alertmanager(supervisor, local)
    prometheus = start_prometheus(supervisor, local, stack, alertmanager_listen)

    print("\nThe platform is running:")
    for name in stack.names:
        print(f"  {name:<22} {stack.url(name)}   (docs: {stack.url(name)}/docs)")
    print(f"  {'web-ui':<22} {web_ui.url}   (the UI and the API gateway)")
    print(f"  {'prometheus':<22} {prometheus}")
    print(f"  {'alertmanager':<22} http://{alertmanager_listen}   (mails {alertmanager.settings(os.environ)['ALERTMANAGER_EMAIL_TO']})")
    print(f"  {'logs':<22} {stack.log_dir}")
    print("Every process is supervised: one that exits is restarted. Ctrl-C stops everything.\n", flush=True)
    _announce_access(os.environ.get("ANONYMOUS_ROLE", "admin"))
    while True:
        supervisor.check()
        time.sleep(0.2)


def _announce_access(anonymous_role: str) -> None:
    """The local profile lets callers without credentials act as ANONYMOUS_ROLE: say so where it is seen."""
    if anonymous_role != "none":
        print(
            f"!!! ANONYMOUS ACCESS IS ON: any caller without credentials acts as {anonymous_role} (ANONYMOUS_ROLE).\n"
            "!!! The ports listen on 127.0.0.1 only. Set ANONYMOUS_ROLE=none and BOOTSTRAP_ADMIN_TOKEN to require credentials.\n",
            flush=True,
        )


def main() -> int:
    local = Path(os.environ.get("PLATFORM_LOCAL_DIR") or ROOT / ".local").resolve()
    supervisor = Supervisor()
    # Ctrl-C and SIGTERM stop everything, even when started from a shell that had SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        _serve(supervisor, local)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave children behind
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("Stopping...", flush=True)
        supervisor.stop()
        print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
