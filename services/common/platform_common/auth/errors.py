"""The access errors: 401 `unauthenticated` (with `WWW-Authenticate: Bearer`), 403 `forbidden` and
429 `too_many_requests` (with `Retry-After`), in the platform's one error shape (`platform_common.errors`
sends each error's `headers`)."""

from typing import ClassVar

from platform_common.errors import PlatformError


class AccessError(PlatformError):
    """Who is calling, or what they may do, does not allow the request."""


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
