"""Apprise URLs (`tgram://…`, `msteams://…`, `ntfy://…`, `json://host/path`): which ones the apprise
channel takes, and how one is shown without its secrets.

Apprise's own parser decides what a URL is (`Apprise.instantiate`): a URL it cannot turn into a service
is refused. So are the services whose Apprise plugin does not speak HTTP(S) through `requests` (mail,
XMPP, MQTT, IRC, SMPP, syslog, desktop notifications, ...): the apprise channel vets every connection
it opens against the webhook egress policy, and those plugins open sockets of their own that it cannot
vet. Email goes through the email channel instead.
"""

from functools import lru_cache

from apprise import Apprise, AppriseAsset
from apprise.plugins.base import NotifyBase

MAX_URL_LENGTH = 2000
# Apprise schemes whose plugins open their own sockets or talk to the local desktop (checked against the
# installed Apprise by a test, so an upgrade that adds one is noticed).
NOT_HTTP_SCHEMES = frozenset(
    {
        *("amqp", "amqps", "aprs", "blink1", "dbus", "qt", "kde", "gio", "glib", "gnome", "macosx", "windows"),
        *("deltachat", "deltachats", "mailto", "mailtos", "growl", "irc", "ircs", "mqtt", "mqtts"),
        *("rsyslog", "syslog", "smpp", "smpps", "xmpp", "xmpps"),
    }
)


def asset() -> AppriseAsset:
    """Apprise's settings for one page: delivered in the calling thread (no parallel dispatch), so the
    channel's egress guard sees every connection."""
    return AppriseAsset(async_mode=False)


@lru_cache(maxsize=1024)
def _parse(url: str) -> NotifyBase | None:
    return Apprise.instantiate(url, asset=asset())


def scheme(url: str) -> str:
    return url.partition("://")[0].lower()


def url_problem(url: str) -> str | None:
    """Why the apprise channel cannot take this URL (None: it can)."""
    if len(url) > MAX_URL_LENGTH or "://" not in url:
        return "is not an Apprise URL (e.g. tgram://bottoken/chat_id, ntfy://host/topic, json://host/path)"
    if scheme(url) in NOT_HTTP_SCHEMES:
        return f"Apprise's {scheme(url)}:// service does not go over HTTP(S) and cannot be vetted by the egress policy"
    if _parse(url) is None:
        return "is not a URL Apprise can use (unknown service or missing fields)"
    return None


def masked(url: str) -> str:
    """The URL with its tokens and passwords hidden (Apprise's privacy form), for lists and logs."""
    plugin = _parse(url) if url_problem(url) is None else None
    return plugin.url(privacy=True) if plugin is not None else f"{scheme(url)}://…"
