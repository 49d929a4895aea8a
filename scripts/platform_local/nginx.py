"""The web UI's nginx on this machine: the same server-block template the image uses, rendered with the
local upstreams, run unprivileged-style under a prefix folder of ours (`make run`, browser tests).

    nginx = LocalNginx(ROOT / ".local" / "nginx", 8080, upstream_urls(stack))
    nginx.start()      # renders, validates with `nginx -t`, starts, waits for /health
    nginx.stop()

The template (services/web-ui/nginx/default.conf.template) is written for envsubst: `${NAME}` is one
of our variables, `$name` without braces is nginx's own and is left alone.
"""

import os
import shutil
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

from platform_local.stack import ROOT, wait_healthy
from platform_local.templates import render_template

WEB_UI = ROOT / "services" / "web-ui"
TEMPLATE = WEB_UI / "nginx" / "default.conf.template"
STATIC = WEB_UI / "static"

# The service each upstream variable points at (the names match docker-compose.yml and conventions.md).
UPSTREAM_VARIABLES = {
    "alert-ingestion": "ALERT_INGESTION_URL",
    "incident-management": "INCIDENT_MANAGEMENT_URL",
    "oncall-service": "ONCALL_SERVICE_URL",
    "notification-service": "NOTIFICATION_SERVICE_URL",
}
_TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        raise RuntimeError("nginx not found: run scripts/install-system-packages.sh")
    return found


def upstream_values(urls: Mapping[str, str]) -> dict[str, str]:
    """Template variables from {service name: base URL}; a service not given points at a closed port,
    so its paths answer the gateway's JSON 503 like a service that is down."""
    values = {}
    for name, variable in UPSTREAM_VARIABLES.items():
        values[variable] = urls.get(name, "http://127.0.0.1:9").rstrip("/")
    return values


class LocalNginx:
    def __init__(
        self,
        prefix: Path,
        port: int,
        upstreams: Mapping[str, str],
        *,
        host: str = "127.0.0.1",
        static_dir: Path = STATIC,
        template: Path = TEMPLATE,
    ) -> None:
        self.prefix = prefix.resolve()
        self.port = port
        self.host = host
        self.upstreams = dict(upstreams)
        self.static_dir = static_dir.resolve()
        self.template = template
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def config(self) -> Path:
        return self.prefix / "nginx.conf"

    def render(self) -> Path:
        """Write conf.d/default.conf (the rendered template) and the nginx.conf that includes it."""
        for name in _TEMP_DIRS:
            (self.prefix / "temp" / name).mkdir(parents=True, exist_ok=True)
        (self.prefix / "conf.d").mkdir(exist_ok=True)
        values = {**upstream_values(self.upstreams), "WEB_UI_PORT": f"{self.host}:{self.port}", "WEB_UI_ROOT": str(self.static_dir)}
        (self.prefix / "conf.d" / "default.conf").write_text(render_template(self.template.read_text(), values))
        temp_paths = "\n".join(f"    {name}_temp_path {self.prefix / 'temp' / name};" for name in _TEMP_DIRS)
        # As root, nginx's workers would switch to an unprivileged user that cannot read our folders;
        # they only read the static pages and never write (no temp files), so they keep our user.
        user = "user root;\n" if os.geteuid() == 0 else ""
        self.config.write_text(
            f"# Written by scripts/platform_local/nginx.py; the server block is conf.d/default.conf.\n"
            f"{user}worker_processes 1;\n"
            f"pid {self.prefix / 'nginx.pid'};\n"
            f"error_log {self.prefix / 'error.log'} warn;\n"
            f"daemon off;\n"
            f"events {{\n    worker_connections 256;\n}}\n"
            f"http {{\n"
            f"    include /etc/nginx/mime.types;\n"
            f"    default_type application/octet-stream;\n"
            f"    access_log {self.prefix / 'access.log'};\n"
            f"    sendfile on;\n"
            f"{temp_paths}\n"
            f"    include {self.prefix / 'conf.d' / 'default.conf'};\n"
            f"}}\n"
        )
        return self.config

    def _command(self, *extra: str) -> list[str]:
        return [nginx_binary(), "-p", str(self.prefix), "-e", str(self.prefix / "error.log"), "-c", str(self.config), *extra]

    def check(self) -> None:
        """`nginx -t` on the rendered configuration; raises with nginx's message when it is invalid."""
        result = subprocess.run(self._command("-t"), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"nginx configuration invalid:\n{result.stderr}")

    def launch(self) -> subprocess.Popen:
        """Start nginx on the rendered configuration without waiting (its own process group, so its
        workers go with it; `make run` restarts it with this)."""
        with open(self.prefix / "nginx.out", "ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(self._command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self.process

    def start(self, timeout: float = 15) -> None:
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.render()
        self.check()
        process = self.launch()
        try:
            wait_healthy("nginx", process, f"{self.url}/health", timeout, self.prefix / "error.log")
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        """Graceful quit (SIGQUIT lets workers finish their requests), then kill after a grace period."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
