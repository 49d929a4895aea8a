"""One outbound HTTP POST that a receiver cannot stretch or redirect (SPEC §13).

- One deadline for the whole attempt: connecting, TLS, sending and reading the answer share it, so a
  receiver trickling one byte per second is cut off when it runs out (a per-read timeout never would).
- Only vetted addresses: the host is resolved and checked by the `EgressPolicy` at connect time, and
  the connection goes to exactly the addresses that passed (no second lookup an attacker could steer).
  TLS still verifies the certificate against the host name in the URL.
- At most `MAX_ANSWER_BYTES` of the answer are read, and they are thrown away: only the status is used.
- No proxy from the environment, no redirects, no connection reuse across attempts.

Built on httpcore (the engine under httpx) because it lets the network backend be replaced.
"""

import time
from collections.abc import Iterable

import httpcore
import httpx

from notification.egress import EgressPolicy, EgressRefused

MAX_ANSWER_BYTES = 64 * 1024
_SSL_CONTEXT = httpx.create_ssl_context()


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write is bounded by what is left of the attempt's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def _budget(self, timeout: float | None, error: type[Exception]) -> float:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise error("the attempt's deadline has passed")
        return remaining if timeout is None else min(timeout, remaining)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._budget(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._budget(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None, timeout: float | None = None) -> httpcore.NetworkStream:
        secured = self._stream.start_tls(ssl_context, server_hostname, self._budget(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(secured, self._deadline)

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _VettedBackend(httpcore.NetworkBackend):
    """Connects only to addresses the policy approves, within the attempt's deadline."""

    def __init__(self, policy: EgressPolicy, deadline: float) -> None:
        self._policy = policy
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None, socket_options=None):
        try:
            addresses = self._policy.addresses(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        failure: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in addresses:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise httpcore.ConnectTimeout("the attempt's deadline has passed")
            try:
                stream = self._inner.connect_tcp(
                    address, port, timeout=min(timeout or remaining, remaining), local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _DeadlineStream(stream, self._deadline)
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options=None):
        raise EgressRefused("unix sockets are not a webhook destination")


def post(url: str, body: bytes, *, headers: Iterable[tuple[str, str]], policy: EgressPolicy, timeout: float) -> int:
    """POST `body` and return the answer's status. Raises EgressRefused (destination not allowed),
    httpcore.TimeoutException (the deadline passed before a status line and headers arrived), or
    httpcore.NetworkError / ProtocolError."""
    deadline = time.monotonic() + timeout
    limits = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
    backend = _VettedBackend(policy, deadline)
    with httpcore.ConnectionPool(ssl_context=_SSL_CONTEXT, network_backend=backend, max_connections=1, retries=0) as pool:
        with pool.stream("POST", url, headers=list(headers), content=body, extensions={"timeout": limits}) as response:
            _discard_answer(response)
            return response.status


def _discard_answer(response: httpcore.Response) -> None:
    """Read at most MAX_ANSWER_BYTES of the answer, within the deadline, and drop them. The status is
    already known, so a receiver that stalls here changes nothing but how soon it is hung up on."""
    read = 0
    try:
        for chunk in response.iter_stream():
            read += len(chunk)
            if read >= MAX_ANSWER_BYTES:
                return
    except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError):
        return
