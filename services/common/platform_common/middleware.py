"""The one middleware every request passes: a request id for the logs and the response
(`X-Request-ID`, the caller's or a new one), and the HTTP metrics labelled by route template."""

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platform_common.logs import REQUEST_ID_HEADER, request_id_scope
from platform_common.metrics import observe_request

_HEADER = REQUEST_ID_HEADER.encode()
UNMATCHED_ROUTE = "unmatched"


class RequestMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
                await self.app(scope, receive, send_with_id)
            finally:
                route = getattr(scope.get("route"), "path", UNMATCHED_ROUTE)
                observe_request(scope["method"], route, status, time.perf_counter() - started)
