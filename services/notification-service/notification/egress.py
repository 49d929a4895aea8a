"""Where outbound webhooks may go (SSRF protection, SPEC §13).

A webhook URL is accepted only if it is plain http(s) without credentials and its host (and port) is
listed in WEBHOOK_ALLOWED_HOSTS or is WEBHOOK_URL's own host and port. The host's addresses are checked
after DNS resolution: a private, loopback, link-local or otherwise non-public address is refused unless
that address itself is listed (WEBHOOK_URL's host is trusted whatever it resolves to: the operator
configured it). The check runs when a notification is accepted and again, on the very addresses that
are then connected to, at every attempt (DNS may have changed meanwhile).
"""

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

Resolver = Callable[[str, int], list[str]]
DEFAULT_PORTS = {"http": 80, "https": 443}


class EgressRefused(Exception):
    """The destination is not allowed; retrying cannot help."""


def normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".").removeprefix("[").removesuffix("]")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


@dataclass(frozen=True)
class HostEntry:
    host: str
    port: int | None = None

    def matches(self, host: str, port: int) -> bool:
        return self.host == host and self.port in (None, port)


def parse_allowed_hosts(value: str) -> tuple[HostEntry, ...]:
    """`a.example, b.example:8443, 10.0.0.5, [fd00::1]:80` → entries; a malformed entry raises ValueError."""
    entries = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            entries.append(HostEntry(str(ipaddress.ip_address(item))))  # a bare IPv6 address
            continue
        except ValueError:
            pass
        parts = urlsplit(f"//{item}")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"WEBHOOK_ALLOWED_HOSTS entry {item!r}: the port must be a number from 1 to 65535") from None
        if not parts.hostname or parts.path or parts.query or parts.fragment or "@" in parts.netloc or port == 0 or " " in item:
            raise ValueError(f"WEBHOOK_ALLOWED_HOSTS entry {item!r} is not `host` or `host:port`")
        entries.append(HostEntry(normalise_host(parts.hostname), port))
    return tuple(entries)


def url_problem(url: str) -> str | None:
    """What makes this URL unusable as a webhook whatever the allow-list says (None: nothing)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() not in DEFAULT_PORTS:
        return "only http and https URLs are allowed"
    if "@" in parts.netloc:
        return "URLs with credentials (user:password@host) are refused"
    if not parts.hostname:
        return "has no host"
    return None


def destination(url: str) -> tuple[str, int]:
    """(normalised host, port) of a URL that passed `url_problem`."""
    parts = urlsplit(url)
    return normalise_host(parts.hostname or ""), parts.port or DEFAULT_PORTS[parts.scheme.lower()]


def resolve_addresses(host: str, port: int) -> list[str]:
    """Every address the host resolves to, in resolver order (raises OSError when it does not resolve)."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in found))


def _non_public_kind(address: str) -> str | None:
    """'loopback', 'link-local', 'private', ... for an address that is not a public unicast one; None if it is."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, flagged in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("unspecified", ip.is_unspecified),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", not ip.is_global),
    ):
        if flagged:
            return kind
    return None


@dataclass(frozen=True)
class EgressPolicy:
    allowed: tuple[HostEntry, ...] = ()
    trusted: HostEntry | None = None  # WEBHOOK_URL's host and port
    resolve: Resolver = field(default=resolve_addresses, compare=False)

    @classmethod
    def from_settings(cls, *, allowed_hosts: str, webhook_url: str | None, resolve: Resolver = resolve_addresses) -> "EgressPolicy":
        trusted = HostEntry(*destination(webhook_url)) if webhook_url else None
        return cls(parse_allowed_hosts(allowed_hosts), trusted, resolve)

    def _listed(self, host: str, port: int) -> bool:
        return any(entry.matches(host, port) for entry in self.allowed)

    def _trusted(self, host: str, port: int) -> bool:
        return self.trusted is not None and self.trusted.matches(host, port)

    def addresses(self, host: str, port: int) -> list[str]:
        """The vetted addresses to connect to for host:port. Raises EgressRefused, or OSError when the
        host does not resolve (a transient problem)."""
        host = normalise_host(host)
        trusted = self._trusted(host, port)
        if not trusted and not self._listed(host, port):
            raise EgressRefused(f"host {host}:{port} is not in WEBHOOK_ALLOWED_HOSTS")
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            addresses = self.resolve(host, port)
        if trusted:
            return addresses
        for address in addresses:
            kind = _non_public_kind(address)
            if kind is not None and not self._listed(normalise_host(address), port):
                raise EgressRefused(f"{host} resolves to the {kind} address {address}, which is not listed in WEBHOOK_ALLOWED_HOSTS")
        return addresses

    def check(self, url: str) -> str | None:
        """Why a notification to this URL is refused now (None: accepted). A host that does not resolve
        at the moment is accepted: it is checked again at every attempt."""
        if problem := url_problem(url):
            return problem
        try:
            self.addresses(*destination(url))
        except EgressRefused as exc:
            return str(exc)
        except OSError:
            return None
        return None
