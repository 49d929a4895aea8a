"""The platform under a benchmark: bench/faults' harness (one durable PostgreSQL, a fresh database, the
four services as real processes, a real webhook receiver at WEBHOOK_URL) with the product's own cycle
timings instead of the fault suite's fast ones, pages on the channel the benchmark names, and the
teams' schedules made through oncall-service's API.

    with bench_cluster() as cluster:
        with bench_platform("latency_webhook", cluster, channel="webhook") as platform:
            asyncio.run(platform.create_schedules(teams, NO_ESCALATION))
"""

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from faults.harness import Cluster, Platform

from support.smtp import SmtpInbox
from tests.support.servers import free_port

NO_ESCALATION = 24 * 60  # minutes: nothing escalates during a benchmark, so each incident owes one page


@dataclass
class BenchPlatform(Platform):
    channel: str = "webhook"  # webhook: the receiver at WEBHOOK_URL; email: an SMTP inbox
    env: dict[str, str] = field(default_factory=dict)
    inbox: SmtpInbox | None = None

    def service_env(self) -> dict[str, str]:
        env = {
            "LOG_LEVEL": "WARNING",
            "PAGE_CHANNELS": f'["{self.channel}"]',
            "WEBHOOK_URL": self.healthy.url,
            "WEBHOOK_ALLOWED_HOSTS": f"127.0.0.1:{self.healthy.port}",
        }
        if self.inbox is not None:
            env |= {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.inbox.port)}
        return env | self.env

    def start(self) -> None:
        if self.channel == "email":
            self.inbox = SmtpInbox(free_port(), self.clock.now)
            self.inbox.start()
        super().start()

    def close(self) -> None:
        super().close()
        if self.inbox is not None:
            self.inbox.stop()

    def pending(self) -> dict[str, int]:
        """Work not done yet: alerts without an incident, pages and notifications (and their timeline
        reports) still to deliver."""
        counts = {
            "alerts": "SELECT count(*) FROM alert_ingestion.alerts WHERE status = 'pending'",
            "pages": "SELECT count(*) FROM incident_management.pages WHERE status = 'pending'",
            "notifications": "SELECT count(*) FROM notification.notifications WHERE status = 'pending'",
            "timeline reports": "SELECT count(*) FROM notification.timeline_reports WHERE status = 'pending'",
        }
        return {what: self.query(sql)[0][0] for what, sql in counts.items()}

    def pages(self) -> list[tuple]:
        """Every page received so far on the benchmark's channel: (arrival time, incident id)."""
        if self.inbox is not None:
            return self.inbox.snapshot()
        return [(delivery.at, delivery.body.get("incident_id")) for delivery in self.healthy.snapshot()]


@contextmanager
def bench_cluster() -> Iterator[Cluster]:
    """A durable PostgreSQL in a temporary folder for the whole benchmark run, removed at its end."""
    root = Path(tempfile.mkdtemp(prefix="bench-"))
    cluster = Cluster(root)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def bench_platform(name: str, cluster: Cluster, *, channel: str = "webhook", env: dict[str, str] | None = None) -> Iterator[BenchPlatform]:
    """A started platform on a fresh database `name`; stopped (with its receivers) whatever happens."""
    workdir = cluster.root / name
    workdir.mkdir(parents=True, exist_ok=True)
    platform = BenchPlatform(name, cluster, workdir, channel=channel, env=env or {})
    try:
        platform.start()
        yield platform
    finally:
        platform.close()
