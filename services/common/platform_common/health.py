"""Liveness, readiness and metrics routes every service exposes."""

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from platform_common.db import database_is_ready
from platform_common.errors import ERROR_RESPONSES, DependencyUnavailable
from platform_common.metrics import metrics_response

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    service: str


@router.get("/health", response_model=Health, summary="Liveness: the process answers")
def health(request: Request) -> Health:
    return Health(status="ok", service=request.app.state.service_name)


@router.get(
    "/ready",
    response_model=Health,
    responses={503: ERROR_RESPONSES[503]},
    summary="Readiness: the database answers and every background worker is alive and cycling",
)
def ready(request: Request) -> Health:
    """503 naming each problem (in `details`): the database unreachable, a worker dead or stuck."""
    problems = []
    if not database_is_ready(request.app.state.engine):
        problems.append({"field": "database", "message": "unreachable", "type": "database_unavailable"})
    for worker in request.app.state.workers:
        if (problem := worker.problem()) is not None:
            problems.append({"field": f"worker:{worker.name}", "message": problem, "type": "worker_unhealthy"})
    if problems:
        summary = "; ".join(f"{problem['field']} {problem['message']}" for problem in problems)
        raise DependencyUnavailable(f"Not ready: {summary}", details=problems)
    return Health(status="ready", service=request.app.state.service_name)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics() -> Response:
    return metrics_response()
