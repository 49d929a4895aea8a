"""Big-database benchmark: the read API's latency over a year of history.

    .venv/bin/python bench/bigdb                 1,000,000 alerts, 100,000 incidents (loads in a few minutes)
    BIGDB_SCALE=0.1 .venv/bin/python bench/bigdb a tenth of that
    BIGDB_DIR=/var/tmp/bigdb .venv/bin/python bench/bigdb   keep the cluster there and reuse its data next time

A durable PostgreSQL; the four services as real processes (they apply their migrations at start-up,
background workers off so nothing but the measured requests runs); the history loaded with set-based SQL
(load.py); a few schedules created through oncall-service's API. Then each read is timed over real HTTP,
BIGDB_REQUESTS (200) requests each with varying filters and pages, once one after the other and once
BIGDB_CONNECTIONS (8) at a time, and a table of p50 / p99 / max in ms is printed. Exit status 1 when a
request was not answered 200.
"""

import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "scripts"), str(ROOT)]

import httpx  # noqa: E402
import psycopg  # noqa: E402

from bigdb import load, measure  # noqa: E402
from bigdb.measure import Case  # noqa: E402
from platform_local.postgres import LocalPostgres  # noqa: E402
from platform_local.stack import Stack  # noqa: E402
from tests.support.servers import free_port  # noqa: E402

SCALE = float(os.environ.get("BIGDB_SCALE", "1"))
REQUESTS = int(os.environ.get("BIGDB_REQUESTS", "200"))
CONNECTIONS = int(os.environ.get("BIGDB_CONNECTIONS", "8"))
NOW = "2026-06-01T12:00:00Z"  # the load's "now": the history is the year before it
TEAMS = 5
NEXT_CURSOR_HEADER = "X-Next-Cursor"


def say(message: str) -> None:
    print(message, flush=True)


def add_schedules(base: str) -> None:
    for k in range(TEAMS):
        members = [{"name": f"Person {k}-{m}", "email": f"p{k}-{m}@example.org"} for m in range(4)]
        schedule = {
            "team": load.service_name(k),
            "rotation_type": "weekly",
            "start": "2025-01-06",
            "handoff_time": "09:00",
            "timezone": "Europe/Berlin",
            "escalation_minutes": 15,
            "members": members,
        }
        answer = httpx.post(f"{base}/api/v1/schedules", json=schedule)
        if answer.status_code != 409:
            answer.raise_for_status()


def cursor_walk(client: httpx.Client, url: str) -> list[str]:
    """Cursors every 500 rows deep from the newest, following the list's next-page cursor (none when the
    API offers no cursor)."""
    cursors: list[str] = []
    answer = client.get(f"{url}&limit=500")
    while NEXT_CURSOR_HEADER in answer.headers and len(cursors) < REQUESTS:
        cursors.append(answer.headers[NEXT_CURSOR_HEADER])
        answer = client.get(f"{url}&limit=500&cursor={cursors[-1]}")
    return cursors


def cases(stack: Stack, size: load.Size, client: httpx.Client) -> list[Case]:
    pick = random.Random(13)
    incidents = f"{stack.url('incident-management')}/api/v1/incidents"
    alerts = f"{stack.url('alert-ingestion')}/api/v1/alerts"
    oncall = f"{stack.url('oncall-service')}/api/v1/oncall/current"
    n = range(REQUESTS)

    def service() -> str:
        return load.service_name(pick.randrange(size.services))

    def severity() -> str:
        return pick.choice(["critical", "high", "medium", "low"])

    def deep(total: int) -> int:
        return min(pick.randrange(total // 10, total), 100_000) // 50 * 50

    big = load.incident_id(load.BIG)
    by_incident = f"{alerts}?incident_id={big}"
    chosen = [
        Case("incidents: newest page", [f"{incidents}?limit=50" for _ in n]),
        Case("incidents: status=open", [f"{incidents}?status=open&offset={pick.randrange(0, 10) * 50}" for _ in n]),
        Case("incidents: status+service+severity", [f"{incidents}?status=resolved&service={service()}&severity={severity()}" for _ in n]),
        Case("incidents: service, pages 1-20", [f"{incidents}?service={service()}&offset={pick.randrange(20) * 50}" for _ in n]),
        Case("incidents: severity, offset <= 5,000", [f"{incidents}?severity={severity()}&offset={pick.randrange(100) * 50}" for _ in n]),
        Case("incidents: offset 10%-100% deep", [f"{incidents}?offset={deep(size.incidents)}" for _ in n]),
        Case("incidents: cursor, 0-100% deep", [f"{incidents}?limit=50&cursor={c}" for c in cursor_walk(client, f"{incidents}?")]),
        Case("incident detail", [f"{incidents}/{load.incident_id(pick.randrange(1, size.incidents + 1))}" for _ in n]),
        Case("incident detail, 5,000 alerts", [f"{incidents}/{big}" for _ in n]),
        Case("summary", [f"{incidents}/summary" for _ in n]),
        Case("incident's alerts, offset", [f"{by_incident}&offset={pick.randrange(100) * 50}" for _ in n]),
        Case("incident's alerts, cursor", [f"{by_incident}&limit=50&cursor={c}" for c in cursor_walk(client, by_incident)]),
        Case("alerts: newest page", [f"{alerts}?limit=50" for _ in n]),
        Case("alerts: service+severity", [f"{alerts}?service={service()}&severity={severity()}" for _ in n]),
        Case("alerts: severity, offset <= 5,000", [f"{alerts}?severity={severity()}&offset={pick.randrange(100) * 50}" for _ in n]),
        Case("alerts: status=silenced", [f"{alerts}?status=silenced&offset={pick.randrange(10) * 50}" for _ in n]),
        Case("alerts: offset 10%-100% deep", [f"{alerts}?offset={deep(size.alerts)}" for _ in n]),
        Case("alerts: cursor, 0-10% deep", [f"{alerts}?limit=50&cursor={c}" for c in cursor_walk(client, f"{alerts}?")]),
        Case("on-call current", [f"{oncall}?team={load.service_name(pick.randrange(TEAMS))}" for _ in n]),
    ]
    return [case for case in chosen if case.urls]


def report(rows: list[tuple[Case, measure.Figures, measure.Figures]]) -> bool:
    say(f"\nbig database: {SCALE:g} x (1,000,000 alerts, 100,000 incidents), durable PostgreSQL, {REQUESTS} requests per read")
    say(f"  {'read':<38} {'sequential p50':>14} {'p99':>7} {'max':>7}   {f'{CONNECTIONS} at once p50':>15} {'p99':>7} {'max':>7}")
    failures = 0
    for case, alone, together in rows:
        failures += alone.failures + together.failures
        worst = max(alone.p99, together.p99)
        say(
            f"  {case.name:<38} {alone.p50:>14.1f} {alone.p99:>7.1f} {alone.max:>7.1f}   {together.p50:>15.1f} {together.p99:>7.1f} "
            f"{together.max:>7.1f}{'  > 50 ms' if worst > 50 else ''}"
        )
    say(f"  requests not answered 200: {failures}")
    return failures == 0


def main() -> int:
    keep = os.environ.get("BIGDB_DIR")
    root = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="bench-bigdb-"))
    size = load.Size.scaled(SCALE)
    postgres = LocalPostgres(root / "pg", free_port(), durable=True)
    postgres.start()
    stack = None
    try:
        database_url = postgres.create_database("bigdb", init_sql=ROOT / "database" / "init.sql")
        ports = {name: free_port() for name in ("alert-ingestion", "incident-management", "oncall-service", "notification-service")}
        stack = Stack(
            database_url=database_url, ports=ports, log_dir=root / "logs", env={"LOG_LEVEL": "WARNING", "BACKGROUND_WORKERS": "false"}
        )
        started = time.monotonic()
        stack.start(timeout=600)  # migrations, including any new index over a loaded table
        say(f"services started and migrated in {time.monotonic() - started:.1f} s")
        with psycopg.connect(postgres.url("bigdb", "postgresql"), autocommit=True) as conn:
            if load.is_loaded(conn, size):
                say("data already loaded; ANALYZE")
                conn.execute("ANALYZE")
            else:
                started = time.monotonic()
                load.load(conn, size, NOW, lambda line: say(f"  loaded {line}"))
                say(f"loaded in {time.monotonic() - started:.0f} s")
        add_schedules(stack.url("oncall-service"))
        rows = []
        with httpx.Client(timeout=30) as client:
            for case in cases(stack, size, client):
                measure.warm_up(client, case)
                rows.append((case, measure.sequential(client, case), measure.concurrent(case, CONNECTIONS)))
    finally:
        if stack:
            stack.stop()
        postgres.stop()
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0 if report(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
