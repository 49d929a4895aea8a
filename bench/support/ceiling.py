"""The ceiling of the Python web stack the services run on, measured beside them in bench/ingest: an
app with one `POST /api/v1/alerts` that validates the alert (a pydantic model like the platform's) and
answers 201 with a JSON body, and nothing else — no database, no middleware, no authentication — served
by uvicorn exactly as a service is (one process, uvloop and httptools, the same keep-alive). No service
built on this stack can ingest faster on the same machine; the ratio of this to Alertmanager shows how
much of the gap is the stack itself."""

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, status
from pydantic import BaseModel, StringConstraints

from platform_local.stack import KEEP_ALIVE_SECONDS
from support.process import running
from tests.support.servers import free_port

app = FastAPI()


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


@app.post("/api/v1/alerts", status_code=status.HTTP_201_CREATED)
async def receive(alert: Alert) -> Accepted:
    return Accepted(alert_id=uuid.uuid4(), incident_id=None, status="stored", action="none")


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@contextmanager
def running_ceiling(workdir: Path) -> Iterator[str]:
    """This app under uvicorn on a free loopback port, stopped at the end; yields its base URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "support.ceiling:app", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--log-level", "warning", "--timeout-keep-alive", str(KEEP_ALIVE_SECONDS)]
    with running("ceiling", command, f"http://127.0.0.1:{port}/health", workdir / "ceiling.log", cwd=Path(__file__).resolve().parents[1]):
        yield f"http://127.0.0.1:{port}"
