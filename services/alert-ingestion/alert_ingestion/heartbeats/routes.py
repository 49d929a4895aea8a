"""HTTP routes of heartbeats: admins create and delete them, viewers read them, and the monitored job
pings.

The ping route is PUBLIC at the HTTP level because the ping URL's own secret (`?token=iph_…`) is a
credential the shared resolver does not know; the handler checks it, or else the caller's credential
(an integration key, a responder, an admin, a service), in `service._authorize`. The token travels in
the query string, which the audit log does not record (nor does the gateway: no access log there).
"""

from functools import partial
from typing import Annotated
from uuid import UUID

from anyio import to_thread
from fastapi import APIRouter, Query, Request, Response, status

from alert_ingestion.heartbeats import service
from alert_ingestion.heartbeats.schemas import HeartbeatCreated, HeartbeatIn, HeartbeatOut
from alert_ingestion.metrics import ALERTS_RESOLVED
from platform_common.auth.errors import Unauthenticated
from platform_common.auth.policy import ADMIN, PUBLIC, VIEWER, current_principal, requires
from platform_common.clock import utcnow
from platform_common.db import SessionDep
from platform_common.errors import ERROR_RESPONSES, ErrorResponse
from platform_common.pagination import TOTAL_COUNT_HEADER, PageDep
from platform_common.validation import Text

router = APIRouter(prefix="/api/v1/heartbeats", tags=["heartbeats"])
PING_RESPONSES = {
    401: {"model": ErrorResponse, "description": "Neither a valid ping token nor a valid credential"},
    403: {"model": ErrorResponse, "description": "A credential that may not ping this heartbeat"},
    404: ERROR_RESPONSES[404],
}


def _resolved(request: Request, count: int) -> None:
    """A miss alert was resolved: report it to its incident now (auto-resolve) rather than next cycle."""
    if count:
        ALERTS_RESOLVED.labels(service.SOURCE).inc(count)
        request.app.state.resolution_worker.wake()


@router.post(
    "",
    dependencies=[requires(ADMIN)],
    response_model=HeartbeatCreated,
    status_code=status.HTTP_201_CREATED,
    responses={409: ERROR_RESPONSES[409], 422: ERROR_RESPONSES[422]},
)
def create_heartbeat(data: HeartbeatIn, request: Request, session: SessionDep) -> HeartbeatCreated:
    """Create a heartbeat. The answer's `ping_url` carries its secret and is shown only this once (the
    platform keeps a SHA-256 digest). Its first ping is due one interval (+ grace) from now."""
    heartbeat, secret = service.create(session, data=data, now=utcnow())
    base = (request.app.state.settings.public_url or str(request.base_url)).rstrip("/")
    return HeartbeatCreated(**heartbeat, ping_url=f"{base}{router.prefix}/{heartbeat['id']}/ping?token={secret}")


@router.get("", dependencies=[requires(VIEWER)], response_model=list[HeartbeatOut])
def list_heartbeats(session: SessionDep, response: Response, page: PageDep) -> list[HeartbeatOut]:
    """Every heartbeat by name, with its state (up / late / down) and last ping."""
    rows, total = service.list_(session, page=page, now=utcnow())
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return [HeartbeatOut.model_validate(row) for row in rows]


@router.get("/{heartbeat_id}", dependencies=[requires(VIEWER)], response_model=HeartbeatOut, responses={404: ERROR_RESPONSES[404]})
def get_heartbeat(heartbeat_id: UUID, session: SessionDep) -> HeartbeatOut:
    return HeartbeatOut.model_validate(service.get_or_raise(session, heartbeat_id=heartbeat_id, now=utcnow()))


@router.delete(
    "/{heartbeat_id}", dependencies=[requires(ADMIN)], status_code=status.HTTP_204_NO_CONTENT, responses={404: ERROR_RESPONSES[404]}
)
def delete_heartbeat(heartbeat_id: UUID, request: Request, session: SessionDep) -> None:
    """Delete a heartbeat; the alert of a miss still open is resolved (nothing will ping it again)."""
    _resolved(request, service.delete_(session, heartbeat_id=heartbeat_id, now=utcnow()))


@router.post("/{heartbeat_id}/ping", dependencies=[requires(PUBLIC)], response_model=HeartbeatOut, responses=PING_RESPONSES)
@router.get("/{heartbeat_id}/ping", dependencies=[requires(PUBLIC)], response_model=HeartbeatOut, responses=PING_RESPONSES)
async def ping_heartbeat(
    heartbeat_id: UUID, request: Request, session: SessionDep, token: Annotated[Text | None, Query(max_length=200)] = None
) -> HeartbeatOut:
    """Ping: the heartbeat is up and due again one interval (+ grace) from now; a missed ping's alert is
    resolved and its incident auto-resolved. Authorised by the ping URL's `token`, or else by an
    integration key (bound to this heartbeat's service, or to none), a responder, an admin or a service.
    Any body (e.g. Alertmanager's webhook) is ignored."""
    try:
        principal = None if token is not None else await current_principal(request)
    except Unauthenticated:  # decided with the heartbeat in hand: an unknown one is 404 for everyone
        principal = None
    ping = partial(service.ping, session, heartbeat_id=heartbeat_id, token=token, principal=principal, now=utcnow())
    heartbeat, resolved = await to_thread.run_sync(ping)
    _resolved(request, resolved)
    return HeartbeatOut.model_validate(heartbeat)
