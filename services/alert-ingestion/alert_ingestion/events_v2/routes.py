"""`POST /v2/enqueue`: the PagerDuty Events API v2, answered as PagerDuty answers.

Access policy PUBLIC, on purpose: Events API clients send no Authorization header, the credential is the
body's `routing_key`. The handler resolves that key like any credential (digest looked up in
`oncall.principals`, cached, so a revoked key is refused within AUTH_CACHE_SECONDS) and refuses every
event whose key is not a live integration key, before anything is stored. The audit log names the
integration.

Every refusal is PagerDuty's 400 `{"status", "message", "errors": [...]}` instead of the platform's 422:
an invalid event, an unknown or revoked routing key, an event over 512 KB (PagerDuty's limit; bodies
over MAX_REQUEST_BODY_BYTES are the platform's 413 before they are read).
"""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from alert_ingestion.events_v2 import service
from alert_ingestion.events_v2.schemas import MAX_EVENT_BYTES, EventAccepted, EventIn, EventRejected
from platform_common.auth.policy import PUBLIC, requires
from platform_common.errors import ERROR_RESPONSES, ErrorResponse

INVALID = ("invalid event", "Event object is invalid")
UNRECOGNIZED = ("Unrecognized object", "Event object format is unrecognized")


class InvalidEvent(Exception):
    def __init__(self, *errors: str) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)


def rejected(errors: list[str], kind: tuple[str, str] = INVALID) -> JSONResponse:
    body = EventRejected(status=kind[0], message=kind[1], errors=errors)
    return JSONResponse(status_code=status.HTTP_400_BAD_REQUEST, content=body.model_dump())


def validation_errors(exc: RequestValidationError) -> list[str]:
    """pydantic's errors as PagerDuty-style sentences naming the field (`'payload.summary' is missing`)."""
    errors = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        if error["type"] == "event_incomplete":  # schemas.EventIn: what each action needs
            errors.append(error["msg"])
        elif error["type"] == "missing":
            errors.append(f"'{field or 'event'}' is missing")
        else:
            errors.append(f"'{field or 'event'}' is invalid: {error['msg']}")
    return errors


class EventsRoute(APIRoute):
    """Answers refusals in PagerDuty's shape (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_event(request: Request) -> Response:
            if len(await request.body()) > MAX_EVENT_BYTES:
                return rejected([f"Event object is larger than 512 KB ({MAX_EVENT_BYTES} bytes)"])
            try:
                return await handle(request)
            except RequestValidationError as exc:
                if any(error["type"] == "json_invalid" for error in exc.errors()):
                    return rejected(["JSON parse error"], UNRECOGNIZED)
                return rejected(validation_errors(exc))
            except HTTPException as exc:
                if exc.status_code != status.HTTP_400_BAD_REQUEST:  # e.g. 413: the platform's answer
                    raise
                return rejected(["JSON parse error"], UNRECOGNIZED)
            except InvalidEvent as exc:
                return rejected(exc.errors)

        return handle_event


router = APIRouter(tags=["events api v2"], route_class=EventsRoute)


@router.post(
    "/v2/enqueue",
    dependencies=[requires(PUBLIC)],
    response_model=EventAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        400: {"model": EventRejected, "description": "Invalid event, unknown or revoked routing key, or over 512 KB: nothing stored"},
        413: {"model": ErrorResponse, "description": "Body over MAX_REQUEST_BODY_BYTES"},
        503: {**ERROR_RESPONSES[503], "description": "The database, or for an acknowledgement incident-management, is down: retry"},
    },
)
async def enqueue(event: EventIn, request: Request) -> EventAccepted:
    """PagerDuty Events API v2 (`trigger`, `acknowledge`, `resolve` by `dedup_key`). The `routing_key` is
    an integration key; it decides the service unless the integration has none (then `payload.component`,
    else `payload.source`). PUBLIC at the HTTP level because the key is in the body: an unknown or
    revoked key is refused here with 400, before anything is stored."""
    integration = await request.app.state.credentials.resolve_secret(event.routing_key)
    if integration is None or integration.kind != "integration":
        raise InvalidEvent("Invalid routing key")
    request.state.principal = integration  # the audit log names the integration
    return EventAccepted(dedup_key=await service.process(request.app.state, event, integration))
