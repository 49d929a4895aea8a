"""Calls to peer services: timeouts, bounded retries with backoff, the caller's request id passed on.

A peer that cannot be reached after the retries raises `PeerUnavailable`; callers decide whether that
means "keep the work pending" or "answer 503". Nothing here ever crashes a request on a peer's behalf.
"""

import logging
import time
from typing import Any

import httpx

from platform_common.errors import DependencyUnavailable
from platform_common.logs import REQUEST_ID_HEADER, current_request_id
from platform_common.settings import ServiceSettings

logger = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({502, 503, 504})


class PeerUnavailable(DependencyUnavailable):
    """A peer service did not answer usefully within the retries."""


class ServiceClient:
    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        timeout: float = 2.0,
        retries: int = 2,
        backoff: float = 0.1,
        transport: httpx.BaseTransport | None = None,
        token: str | None = None,
    ) -> None:
        self.name = name
        self.retries = retries
        self.backoff = backoff
        headers = {"Authorization": f"Bearer {token}"} if token else None
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport, headers=headers)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request, retrying transport errors and 502/503/504; return the last response."""
        headers = dict(kwargs.pop("headers", None) or {})
        request_id = current_request_id()
        if request_id:
            headers.setdefault(REQUEST_ID_HEADER, request_id)
        failure = "no attempt made"
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._client.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                failure = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code not in RETRYABLE_STATUS:
                return response
            failure = f"HTTP {response.status_code}"
        logger.warning("%s unavailable for %s %s: %s", self.name, method, path, failure)
        raise PeerUnavailable(f"{self.name} is unavailable ({failure})")

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def close(self) -> None:
        self._client.close()


def peer_client(name: str, base_url: str, settings: ServiceSettings) -> ServiceClient:
    """A client for a peer service with this service's timeouts, retries and service credential."""
    return ServiceClient(name, base_url, timeout=settings.http_timeout_seconds, retries=settings.http_retries, token=settings.service_token)
