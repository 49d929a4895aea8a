"""Two ceilings of the intake, measured beside the platform in bench/ingest, each served by uvicorn
exactly as a service is (one process, uvloop and httptools, the same keep-alive) and set up as one
(FastAPI's OpenTelemetry bridge off, the garbage collector tuned after start-up: platform_common.app):

- `app`, the web stack alone: one `POST /api/v1/alerts` that validates the alert (a pydantic model like
  the platform's) and answers 201 with a JSON body, and nothing else: no database, no middleware, no
  authentication. No service built on this stack can ingest faster on the same machine.
- `durable_app`, the least a durable intake does on it: the same route, and each alert stored in
  PostgreSQL and committed before its 201, with the intake's own group commit (alert_ingestion.batches)
  on the intake's own connection pool (alert_ingestion.storing.intake_pool): one plain INSERT per batch
  into a table of its own (`DURABLE_TABLE`, created at start). No correlation, no deduplication, no
  routing, no middleware, no authentication. The database is `CEILING_DATABASE_URL`.

Their ratios to Alertmanager show how much of the gap is the stack itself, and how much durability."""

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from subprocess import Popen
from typing import Annotated, Any

from fastapi import FastAPI, status
from pydantic import BaseModel, StringConstraints

from platform_common.app import NO_OPENTELEMETRY, tune_garbage_collector
from platform_local.stack import KEEP_ALIVE_SECONDS
from support import ROOT
from support.process import running
from tests.support.servers import free_port

sys.path.insert(0, str(ROOT / "services" / "alert-ingestion"))  # for the two imports below

from alert_ingestion.batches import Batches
from alert_ingestion.storing import BATCH, intake_pool, json_text

DURABLE_TABLE = "ceiling_alerts"
POOL_SIZE = 10  # alert-ingestion's INTAKE_POOL_SIZE default


class Alert(BaseModel):
    service: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    severity: str
    message: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
    labels: dict[str, str] = {}


class Accepted(BaseModel):
    alert_id: uuid.UUID
    incident_id: uuid.UUID | None
    status: str
    action: str


@asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
    tune_garbage_collector()
    yield


app = FastAPI(lifespan=_lifespan, telemetry=NO_OPENTELEMETRY)


@app.post("/api/v1/alerts", status_code=status.HTTP_201_CREATED)
async def receive(alert: Alert) -> Accepted:
    return Accepted(alert_id=uuid.uuid4(), incident_id=None, status="stored", action="none")


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


_INSERT = f"""
INSERT INTO {DURABLE_TABLE} (id, service, severity, message, labels, received_at)
SELECT * FROM unnest(%(id)s::uuid[], %(service)s::text[], %(severity)s::text[], %(message)s::text[],
                     %(labels)s::jsonb[], %(received_at)s::timestamptz[])
"""
_CREATE = f"""
CREATE TABLE IF NOT EXISTS {DURABLE_TABLE} (
    id uuid PRIMARY KEY, service text NOT NULL, severity text NOT NULL, message text NOT NULL,
    labels jsonb NOT NULL, received_at timestamptz NOT NULL
)
"""


@asynccontextmanager
async def _durable_lifespan(durable: FastAPI) -> AsyncIterator[None]:
    pool = intake_pool(os.environ["CEILING_DATABASE_URL"], POOL_SIZE)
    await pool.open(wait=True)

    async def store_many(batch: list[dict[str, Any]]) -> list[uuid.UUID]:
        arrays = {name: [alert[name] for alert in batch] for name in ("id", "service", "severity", "message", "labels", "received_at")}
        async with pool.connection() as connection:
            await connection.execute(_INSERT, arrays)
        return arrays["id"]

    async with pool.connection() as connection:
        await connection.execute(_CREATE)
    durable.state.batches = Batches(store_many, size=BATCH)
    tune_garbage_collector()
    try:
        yield
    finally:
        await pool.close()


durable_app = FastAPI(lifespan=_durable_lifespan, telemetry=NO_OPENTELEMETRY)
durable_app.get("/health")(health)


@durable_app.post("/api/v1/alerts", status_code=status.HTTP_201_CREATED)
async def store(alert: Alert) -> Accepted:
    row = {"id": uuid.uuid4(), "labels": json_text(alert.labels), "received_at": datetime.now(UTC)}
    stored = await durable_app.state.batches.submit(row | alert.model_dump(include={"service", "severity", "message"}))
    return Accepted(alert_id=stored, incident_id=None, status="stored", action="none")


@contextmanager
def running_ceiling(workdir: Path, database_url: str | None = None, processes: int = 1) -> Iterator[tuple[str, Popen]]:
    """`app` under uvicorn on a free loopback port (`durable_app` on `database_url` if given; `processes`
    of it, as uvicorn's --workers), stopped at the end; yields its base URL and its process."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    target = "support.ceiling:durable_app" if database_url else "support.ceiling:app"
    command = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port), "--workers", str(processes)]
    command += ["--log-level", "warning", "--timeout-keep-alive", str(KEEP_ALIVE_SECONDS)]
    env = {**os.environ, "CEILING_DATABASE_URL": database_url or ""}
    health = f"http://127.0.0.1:{port}/health"
    with running("ceiling", command, health, workdir / "ceiling.log", cwd=Path(__file__).resolve().parents[1], env=env) as process:
        yield f"http://127.0.0.1:{port}", process
