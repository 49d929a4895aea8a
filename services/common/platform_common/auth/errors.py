"""The access errors: 401 `unauthenticated` (with `WWW-Authenticate: Bearer`), 403 `forbidden` and
429 `too_many_requests` (with `Retry-After`), in the platform's one error shape."""

from typing import ClassVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from platform_common.errors import PlatformError, error_response


class AccessError(PlatformError):
    headers: ClassVar[dict[str, str]] = {}


class Unauthenticated(AccessError):
    status_code = 401
    code = "unauthenticated"
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": 'Bearer realm="incident-platform"'}


class Forbidden(AccessError):
    status_code = 403
    code = "forbidden"


class TooManyRequests(AccessError):
    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}  # type: ignore[misc] - per instance


async def _access_error(_: Request, exc: AccessError) -> JSONResponse:
    response = error_response(exc.status_code, exc.code, exc.message, exc.details)
    response.headers.update(exc.headers)
    return response


def install_access_error_handler(app: FastAPI) -> None:
    app.add_exception_handler(AccessError, _access_error)
