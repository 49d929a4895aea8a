"""The real platform behind the real gateway, for the web UI's browser and gateway tests: every service
that exists in the tree as a process on a free loopback port (on the test database), and nginx with the
web UI's own template in front of them on another free port."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from platform_local.nginx import LocalNginx
from platform_local.stack import ROOT, SERVICES, Stack
from tests.support.servers import free_port

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"


@dataclass
class Platform:
    stack: Stack
    gateway: LocalNginx

    @property
    def url(self) -> str:
        return self.gateway.url

    def has(self, service: str) -> bool:
        return service in self.stack.names


@contextmanager
def running_platform(database_url: str, workdir: Path) -> Iterator[Platform]:
    ports = {spec.name: free_port() for spec in SERVICES if spec.available}
    stack = Stack(database_url=database_url, ports=ports, log_dir=workdir / "logs", env={"ENVIRONMENT": "test", "LOG_LEVEL": "WARNING"})
    gateway = LocalNginx(workdir / "nginx", free_port(), {name: stack.url(name) for name in stack.names})
    try:
        stack.start()
        gateway.start()
        yield Platform(stack, gateway)
    finally:
        gateway.stop()
        stack.stop()


def screenshot(page, name: str) -> Path:
    """Save the whole page (a Playwright Page) as test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
