"""The real platform behind the real gateway, for the web UI's browser and gateway tests: every service
that exists in the tree as a process on a free loopback port (on the test database), and nginx with the
web UI's own template in front of them on another free port.

Two profiles: the local one (anonymous callers are admins, as in `make run`) and the secured one
(`secured_env()`: ANONYMOUS_ROLE=none and a bootstrap admin token, as a real deployment)."""

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from platform_local.nginx import LocalNginx
from platform_local.stack import ROOT, SERVICES, Stack
from tests.support.servers import free_port

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
AXE_SCRIPT = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"


def secured_env() -> dict[str, str]:
    """The secured profile: no anonymous access; an admin API token (a fresh random value) to set up with.
    Credentials are not cached (AUTH_CACHE_SECONDS=0), so a logout or a revocation holds at once and a
    test can check it without waiting out the cache."""
    return {"ANONYMOUS_ROLE": "none", "BOOTSTRAP_ADMIN_TOKEN": f"test-admin-{secrets.token_urlsafe(24)}", "AUTH_CACHE_SECONDS": "0"}


@dataclass
class Platform:
    stack: Stack
    gateway: LocalNginx

    @property
    def url(self) -> str:
        return self.gateway.url

    def has(self, service: str) -> bool:
        return service in self.stack.names

    @property
    def admin_headers(self) -> dict[str, str]:
        """The bootstrap admin's Authorization header (secured profile; empty in the local one)."""
        token = self.stack.env.get("BOOTSTRAP_ADMIN_TOKEN")
        return {"Authorization": f"Bearer {token}"} if token else {}


@contextmanager
def running_platform(database_url: str, workdir: Path, env: Mapping[str, str] | None = None) -> Iterator[Platform]:
    ports = {spec.name: free_port() for spec in SERVICES if spec.available}
    settings = {"ENVIRONMENT": "test", "LOG_LEVEL": "WARNING", **(env or {})}
    stack = Stack(database_url=database_url, ports=ports, log_dir=workdir / "logs", env=settings)
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
