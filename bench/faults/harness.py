"""The platform under test: one durable PostgreSQL for the run, and per scenario a fresh database,
the four services as real processes (uvicorn, platform_local.stack), two real webhook receivers
(a healthy one at WEBHOOK_URL and a spare that scenarios may make slow) and the platform clock.

Everything a scenario starts is stopped by `close()`, whatever happened; the PostgreSQL cluster and
its data folder go when the run ends.
"""

import asyncio
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from faults.clock import PlatformClock
from faults.receiver import Receiver
from platform_local.postgres import LocalPostgres
from platform_local.stack import SERVICES, Stack
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
# Fast cycles so a quick run stays short; retry timing (DELIVERY_RETRY_*) keeps the product defaults.
CYCLE_ENV = {
    "ESCALATION_INTERVAL_SECONDS": "1",
    "PAGE_INTERVAL_SECONDS": "0.5",
    "DELIVERY_INTERVAL_SECONDS": "0.5",
    "PENDING_RETRY_SECONDS": "1",
}


def schedule_for(team: str, escalation_minutes: int) -> dict[str, Any]:
    """Primary p.<team>, secondary s.<team>, one further level e.<team>."""
    return {
        "team": team,
        "rotation_type": "daily",
        "timezone": "UTC",
        "handoff_time": "00:00",
        "escalation_minutes": escalation_minutes,
        "members": [{"name": f"p-{team}", "email": f"p.{team}@example.org"}, {"name": f"s-{team}", "email": f"s.{team}@example.org"}],
        "escalation_levels": [{"name": f"e-{team}", "email": f"e.{team}@example.org"}],
    }


class Cluster:
    """The run's PostgreSQL (durable: fsync and synchronous commit on), one database per scenario."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.postgres = LocalPostgres(root / "pg", free_port(), durable=True)

    def start(self) -> None:
        self.postgres.start()

    def stop(self) -> None:
        self.postgres.stop()

    def ensure_running(self) -> None:
        try:
            psycopg.connect(self.postgres.url("postgres", "postgresql"), connect_timeout=2).close()
        except psycopg.OperationalError:
            self.postgres.start()

    def restart(self) -> None:
        """`pg_ctl stop -m fast` then start: every open connection of every service is cut."""
        self.postgres.stop()
        self.postgres.start()

    def database(self, name: str) -> tuple[str, str]:
        """A fresh database: (SQLAlchemy URL for the services, psycopg URL for the suite's checks)."""
        url = self.postgres.create_database(name, init_sql=ROOT / "database" / "init.sql")
        return url, self.postgres.url(name, "postgresql")


@dataclass
class Platform:
    name: str
    cluster: Cluster
    workdir: Path
    stacks: list[Stack] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.database_url, self.check_url = self.cluster.database(self.name.replace("-", "_"))
        self.clock = PlatformClock(self.workdir / "clock-offset")
        self.healthy = Receiver(free_port(), self.clock.now)
        self.slow = Receiver(free_port(), self.clock.now, slow=True)
        self.ports = {spec.name: free_port() for spec in SERVICES}

    @property
    def stack(self) -> Stack:
        return self.stacks[0]

    def service_env(self) -> dict[str, str]:
        return {
            "LOG_LEVEL": "WARNING",
            "PAGE_CHANNELS": '["webhook"]',
            "WEBHOOK_URL": self.healthy.url,
            "WEBHOOK_ALLOWED_HOSTS": f"127.0.0.1:{self.healthy.port},127.0.0.1:{self.slow.port}",
            "PLATFORM_CLOCK_OFFSET_FILE": str(self.clock.offset_file),
            **CYCLE_ENV,
        }

    def start(self) -> None:
        self.healthy.start()
        self.slow.start()
        stack = Stack(database_url=self.database_url, ports=self.ports, log_dir=self.workdir / "logs", env=self.service_env())
        self.stacks.append(stack)
        stack.start()

    def add_replica(self, name: str) -> Stack:
        """Another process of service `name` on the same database and peers (the others keep using the first)."""
        replica = Stack(
            database_url=self.database_url,
            ports={**self.ports, name: free_port()},
            log_dir=self.workdir / f"logs-replica{len(self.stacks)}",
            env=self.service_env(),
        )
        self.stacks.append(replica)
        replica.start(name)
        return replica

    def url(self, name: str) -> str:
        return self.stack.url(name)

    @staticmethod
    def kill(stack: Stack, name: str) -> None:
        """SIGKILL: no shutdown hook runs, in-flight work is cut where it stands."""
        process = stack.processes.pop(name)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()

    async def restart(self, stack: Stack, name: str) -> None:
        await asyncio.to_thread(stack.start, name)

    async def create_schedules(self, teams: list[str], escalation_minutes: int, concurrency: int = 16) -> None:
        queue = iter(teams)
        async with httpx.AsyncClient(base_url=self.url("oncall-service"), timeout=30) as client:

            async def worker() -> None:
                for team in queue:
                    response = await client.post("/api/v1/schedules", json=schedule_for(team, escalation_minutes))
                    if response.status_code != 201:
                        raise RuntimeError(f"schedule for {team}: HTTP {response.status_code} {response.text[:200]}")

            await asyncio.gather(*(worker() for _ in range(concurrency)))

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.check_url) as conn:
            return conn.execute(sql, params).fetchall()

    def close(self) -> None:
        self.slow.stop()  # first: a delivery stuck on it must not hold a service's shutdown
        for stack in self.stacks:
            stack.stop()
        self.healthy.stop()
