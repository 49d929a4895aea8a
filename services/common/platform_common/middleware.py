"""The one middleware every request passes: a request id for the logs and the response
(`X-Request-ID`, the caller's or a new one), the HTTP metrics labelled by route template, and the
request body size limit (`MAX_REQUEST_BODY_BYTES`, default 1 MiB).

A body over the limit is refused with 413 in the platform's error shape without being held in memory:
a `Content-Length` over the limit is answered before the body is read, and a body sent without one
(chunked) is counted as it streams in and refused at the first byte over the limit.
"""

import os
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platform_common.errors import BodyTooLarge, http_error_response
from platform_common.logs import REQUEST_ID_HEADER, request_id_scope
from platform_common.metrics import observe_request

_HEADER = REQUEST_ID_HEADER.encode()
UNMATCHED_ROUTE = "unmatched"
MAX_BODY_ENV = "MAX_REQUEST_BODY_BYTES"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def max_body_bytes_from_env() -> int:
    raw = os.environ.get(MAX_BODY_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BODY_BYTES
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{MAX_BODY_ENV} must be a positive number of bytes, not {raw!r}")
    return int(raw)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


def _limited(receive: Receive, limit: int) -> Receive:
    """`receive`, raising `BodyTooLarge` once the body's running size passes `limit`."""
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return receive_within_limit


class RequestMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes if max_body_bytes is not None else max_body_bytes_from_env()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        with request_id_scope(dict(scope["headers"]).get(_HEADER)) as request_id:

            async def send_with_id(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    message.setdefault("headers", [])
                    message["headers"].append((_HEADER, request_id.encode("latin-1")))
                await send(message)

            try:
                declared = _declared_length(scope)
                if declared is not None and declared > self.max_body_bytes:
                    await http_error_response(BodyTooLarge(self.max_body_bytes))(scope, receive, send_with_id)
                    return
                await self.app(scope, _limited(receive, self.max_body_bytes), send_with_id)
            finally:
                route = getattr(scope.get("route"), "path", UNMATCHED_ROUTE)
                observe_request(scope["method"], route, status, time.perf_counter() - started)
