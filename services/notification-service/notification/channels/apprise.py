"""The apprise channel: one page through the Apprise library to any service it supports (Telegram,
Microsoft Teams, Discord, ntfy, Pushover, Matrix, SMS gateways, plain JSON, ...). The recipient is an
Apprise URL (`notification.apprise_urls` says which are taken).

What is checked, so an Apprise URL cannot reach what a webhook URL could not (SPEC §13):
- the URL parses as an Apprise service that speaks HTTP(S) (`apprise_urls.url_problem`), when the
  notification is accepted and again at every attempt;
- every TCP connection the plugin opens during the attempt (through `requests`/urllib3) is vetted by
  the same `EgressPolicy` as webhooks, on the very addresses then connected to: the host (and port)
  must be in WEBHOOK_ALLOWED_HOSTS, and a private, loopback or link-local address must itself be listed.
  A cloud service's API host (api.telegram.org, ntfy.sh, discord.com, ...) is therefore listed by the
  operator who wants it. TLS still verifies the certificate against the host name. A refused
  connection fails the notification at once (permanent).
- one deadline for the attempt (DELIVERY_ATTEMPT_TIMEOUT_SECONDS): Apprise's connect and read timeouts
  are capped by it, the send runs in a worker thread that is waited for at most that long, and the
  sockets it opened are shut when it runs out.

Apprise reports only success or failure; the error recorded names the service and what happened
(refused destination, deadline, not accepted), never anything the service answered.
"""

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextvars import ContextVar
from dataclasses import dataclass, field

import urllib3.util.connection
from apprise import Apprise

from notification import apprise_urls
from notification.channels import DeliveryError, Notification, url_destination
from notification.egress import EgressPolicy, EgressRefused

MAX_PARALLEL_SENDS = 4
_plain_connect = urllib3.util.connection.create_connection


@dataclass
class _Attempt:
    """One send in progress: its policy and deadline, the sockets it opened, why a connection was refused."""

    policy: EgressPolicy
    deadline: float
    sockets: list[socket.socket] = field(default_factory=list)
    refused: str | None = None

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def cut_off(self) -> None:
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


_attempt: ContextVar[_Attempt | None] = ContextVar("apprise_attempt", default=None)


def _vetted_connect(address, timeout=None, source_address=None, socket_options=None):
    """urllib3's connect, vetted by the policy of the apprise attempt running in this thread (if any)."""
    attempt = _attempt.get()
    if attempt is None:
        return _plain_connect(address, timeout, source_address, socket_options)
    host, port = address
    try:
        addresses = attempt.policy.addresses(host, port)
    except EgressRefused as exc:
        attempt.refused = str(exc)
        raise ConnectionRefusedError(f"destination refused: {exc}") from None  # an OSError: urllib3 reports a failed connection
    failure: OSError = ConnectionError(f"no address for {host}")
    for vetted in addresses:
        remaining = attempt.remaining()
        if remaining <= 0:
            raise TimeoutError("the attempt's deadline has passed")
        limit = min(timeout, remaining) if isinstance(timeout, int | float) else remaining
        try:
            sock = _plain_connect((vetted, port), limit, source_address, socket_options)
        except OSError as exc:
            failure = exc
            continue
        attempt.sockets.append(sock)
        return sock
    raise failure


def _install_guard() -> None:
    """Route urllib3's connections through `_vetted_connect` (outside an apprise attempt it changes nothing)."""
    urllib3.util.connection.create_connection = _vetted_connect


class AppriseChannel:
    def __init__(self, *, policy: EgressPolicy, timeout: float) -> None:
        self.policy = policy
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=MAX_PARALLEL_SENDS, thread_name_prefix="apprise")
        _install_guard()

    def recipient_problem(self, recipient: str) -> str | None:
        return apprise_urls.url_problem(recipient)

    def destination(self, recipient: str) -> str:
        return url_destination("apprise", recipient)

    def send(self, notification: Notification) -> None:
        service = apprise_urls.scheme(notification.recipient)
        if problem := apprise_urls.url_problem(notification.recipient):
            raise DeliveryError(f"apprise: the URL {problem}", permanent=True)
        attempt = _Attempt(self.policy, time.monotonic() + self.timeout)
        future = self._pool.submit(self._notify, notification, attempt)
        try:
            delivered = future.result(timeout=self.timeout)
        except FutureTimeout:
            attempt.cut_off()
            raise DeliveryError(f"apprise {service}://: no answer within the {self.timeout:g} s attempt deadline") from None
        if attempt.refused is not None:
            raise DeliveryError(f"apprise {service}://: destination refused: {attempt.refused}", permanent=True)
        if not delivered:
            raise DeliveryError(f"apprise {service}://: the service did not accept the notification or could not be reached")

    def _notify(self, notification: Notification, attempt: _Attempt) -> bool:
        """Runs in a worker thread: the guard sees this attempt through the context variable."""
        token = _attempt.set(attempt)
        try:
            sender = Apprise(asset=apprise_urls.asset())
            sender.add(notification.recipient)
            for plugin in sender:
                plugin.socket_connect_timeout = min(plugin.socket_connect_timeout, self.timeout)
                plugin.socket_read_timeout = min(plugin.socket_read_timeout, self.timeout)
            title = notification.message.splitlines()[0][:120]
            return bool(sender.notify(body=notification.message, title=title))
        finally:
            _attempt.reset(token)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
