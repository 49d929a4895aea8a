"""The platform's error model: one exception tree, one JSON shape for every error response.

    PlatformError (500 internal_error)
    ├── NotFound (404 not_found)
    ├── Conflict (409 conflict)          illegal state change
    ├── InvalidInput (422 validation_error)
    └── DependencyUnavailable (503 dependency_unavailable)   database or peer service down
    BodyTooLarge (413 payload_too_large)   an HTTPException, so FastAPI lets it out of body reading

Every error answers `{"error": {"code", "message", "details"}, "request_id"}`; for 422 `details` lists
`{"field", "message", "type"}` per invalid field. Every 503 carries `Retry-After`; every 405 carries
`Allow` with every method the path supports.
"""

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from platform_common.logs import current_request_id

logger = logging.getLogger(__name__)


class PlatformError(Exception):
    status_code = 500
    code = "internal_error"
    headers: ClassVar[dict[str, str]] = {}  # sent with the error answer (e.g. WWW-Authenticate)

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class NotFound(PlatformError):
    status_code = 404
    code = "not_found"


class Conflict(PlatformError):
    status_code = 409
    code = "conflict"


class InvalidInput(PlatformError):
    status_code = 422
    code = "validation_error"


class DependencyUnavailable(PlatformError):
    status_code = 503
    code = "dependency_unavailable"


class BodyTooLarge(StarletteHTTPException):
    """The request body is over the size limit (raised while the body is received, see middleware)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"Request body is larger than {limit} bytes")


RETRY_AFTER_SECONDS = 5
"""What a 503 asks clients to wait before retrying: the database or a peer is restarting or busy."""


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] = []


class ErrorResponse(BaseModel):
    error: ErrorDetail
    request_id: str | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "Unknown id"},
    409: {"model": ErrorResponse, "description": "Illegal state change"},
    422: {"model": ErrorResponse, "description": "Invalid input, with field-level details"},
    503: {"model": ErrorResponse, "description": "A dependency is down"},
}

_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    503: "dependency_unavailable",
}


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(
        error=ErrorDetail(code=code, message=message, details=details or []),
        request_id=current_request_id(),
    )
    headers = dict(headers or {})
    if status_code == 503:
        headers.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))
    return JSONResponse(status_code=status_code, content=body.model_dump(mode="json"), headers=headers)


def http_error_response(exc: StarletteHTTPException, *, headers: dict[str, str] | None = None) -> JSONResponse:
    """An HTTP exception (404, 405, 413, ...) in the platform's error shape."""
    return error_response(exc.status_code, _HTTP_CODES.get(exc.status_code, "http_error"), str(exc.detail), headers=headers)


def allowed_methods(request: Request) -> str:
    """Every method some route accepts on this request's path (several routes can share one path:
    Starlette's own 405 names only the first route's methods)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):  # routes of included routers too
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        details.append({"field": ".".join(location) or "body", "message": error.get("msg", ""), "type": error.get("type", "")})
    return details


async def _platform_error(_: Request, exc: PlatformError) -> JSONResponse:
    return error_response(exc.status_code, exc.code, exc.message, exc.details, headers=exc.headers)


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    return error_response(422, "validation_error", "Request validation failed", _field_errors(exc))


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 400 and isinstance(exc.__cause__, (ValueError, RecursionError)):
        # FastAPI's 400 for a body it could not decode (not UTF-8, nested too deeply, an integer too long
        # to convert): invalid input like malformed JSON, which it answers 422 `json_invalid`.
        detail = {"field": "body", "message": f"not a valid JSON document: {type(exc.__cause__).__name__}", "type": "json_invalid"}
        return error_response(422, "validation_error", "Request body is not valid JSON", [detail])
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return http_error_response(exc, headers=headers)


async def _database_error(_: Request, exc: DBAPIError) -> JSONResponse:
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        logger.warning("database unavailable: %s", exc.orig)
        return error_response(503, "dependency_unavailable", "The database is unavailable")
    logger.exception("database error")
    return error_response(500, "internal_error", "Internal error")


async def _pool_exhausted(_: Request, exc: SQLAlchemyTimeoutError) -> JSONResponse:
    logger.warning("no database connection free in time: %s", exc)
    return error_response(503, "dependency_unavailable", "The database is busy; retry shortly")


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    """Last resort: a bug still answers in the platform's error shape (the exception is logged by the server)."""
    return error_response(500, "internal_error", "Internal error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PlatformError, _platform_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(SQLAlchemyTimeoutError, _pool_exhausted)
    app.add_exception_handler(Exception, _unexpected_error)
