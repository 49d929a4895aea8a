"""Paging the on-call: who it is (oncall-service) and getting the page out (notification-service).

Pages are an outbox: a row in `pages` is written in the same transaction as the incident, and the pager
worker delivers it. A peer that is down leaves the page pending with a backoff; nothing is dropped.
Each notification carries an idempotency key, so a retried page is never delivered twice.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, update
from sqlalchemy.orm import Session, sessionmaker

from incident_management import service
from incident_management.tables import pages
from platform_common import outbox
from platform_common.http import PeerUnavailable, ServiceClient

logger = logging.getLogger(__name__)
ACTOR = "pager"
MAX_PAGES_PER_CYCLE = 50


@dataclass(frozen=True)
class OnCall:
    name: str
    email: str | None

    @property
    def address(self) -> str:
        return self.email or self.name


class PageRejected(Exception):
    """notification-service refused the page (4xx): retrying would not help."""


def lookup_primary(oncall: ServiceClient, team: str) -> OnCall | None:
    """The team's current primary; None when the team has no schedule. Raises PeerUnavailable."""
    response = oncall.get("/api/v1/oncall/current", params={"team": team})
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise PeerUnavailable(f"oncall-service answered {response.status_code}")
    primary = (response.json() or {}).get("primary") or {}
    if not primary.get("name"):
        return None
    return OnCall(name=primary["name"], email=primary.get("email"))


def _record(session: Session, page: RowMapping, kind: str, message: str, now: datetime, **data: Any) -> None:
    """A timeline event on the page's incident, naming the page."""
    data = {"page_id": str(page["id"]), **data}
    service.add_event(session, incident_id=page["incident_id"], kind=kind, actor=ACTOR, message=message, data=data, now=now)


def page_message(incident: RowMapping) -> str:
    return (
        f"[{incident['severity'].upper()}] {incident['title']} — service {incident['service']}, "
        f"incident {incident['id']} ({incident['status']})"
    )


@dataclass
class Pager:
    session_factory: sessionmaker[Session]
    oncall: ServiceClient
    notifier: ServiceClient
    channels: list[str]
    max_backoff_seconds: float

    def deliver_due(self) -> int:
        """Deliver pages that are due, one transaction each; returns how many were handled."""
        return outbox.drain(self.session_factory, pages, self._attempt, limit=MAX_PAGES_PER_CYCLE)

    def _attempt(self, session: Session, page: RowMapping, now: datetime) -> None:
        incident = service.get_or_raise(session, incident_id=page["incident_id"])
        try:
            recipient = page["recipient"] or self._resolve_recipient(session, page, incident, now)
            if recipient is None:
                return
            self._send(page, incident, recipient)
        except PeerUnavailable as exc:
            self._retry_later(session, page, str(exc), now)
            return
        except PageRejected as exc:
            self._finish(session, page, "failed", error=str(exc), now=now)
            _record(session, page, "page_failed", f"Page refused by notification-service: {exc}", now)
            return
        self._finish(session, page, "sent", now=now, recipient=recipient)
        message = f"Paged {recipient} via {', '.join(self.channels)}"
        _record(session, page, "paged", message, now, recipient=recipient, reason=page["reason"], channels=self.channels)

    def _resolve_recipient(self, session: Session, page: RowMapping, incident: RowMapping, now: datetime) -> str | None:
        primary = lookup_primary(self.oncall, incident["service"])
        if primary is None:
            self._finish(session, page, "skipped", error="no on-call schedule", now=now)
            _record(session, page, "page_skipped", f"Nobody paged: team {incident['service']} has no on-call schedule", now)
            return None
        if incident["assigned_to"] is None:
            service.assign(session, incident=incident, assignee=primary.name, actor=ACTOR, now=now)
        return primary.address

    def _send(self, page: RowMapping, incident: RowMapping, recipient: str) -> None:
        for channel in self.channels:
            response = self.notifier.post(
                "/api/v1/notify",
                json={"incident_id": str(incident["id"]), "channel": channel, "recipient": recipient, "message": page_message(incident)},
                headers={"Idempotency-Key": f"page:{page['id']}:{channel}"},
            )
            if 400 <= response.status_code < 500:
                raise PageRejected(f"{channel}: HTTP {response.status_code} {response.text[:200]}")
            if response.status_code >= 500:
                raise PeerUnavailable(f"notification-service answered {response.status_code}")

    def _retry_later(self, session: Session, page: RowMapping, error: str, now: datetime) -> None:
        attempts = page["attempts"] + 1
        delay = min(self.max_backoff_seconds, 2.0**attempts)
        session.execute(
            update(pages)
            .where(pages.c.id == page["id"])
            .values(attempts=attempts, last_error=error, next_attempt_at=now + timedelta(seconds=delay))
        )
        if attempts == 1:
            _record(session, page, "page_pending", f"Page not delivered yet, retrying: {error}", now)
        logger.warning("page %s pending (attempt %d): %s", page["id"], attempts, error)

    @staticmethod
    def _finish(
        session: Session, page: RowMapping, status: str, *, now: datetime, error: str | None = None, recipient: str | None = None
    ) -> None:
        values: dict[str, Any] = {"status": status, "attempts": page["attempts"] + 1, "last_error": error}
        if status == "sent":
            values["sent_at"] = now
        if recipient is not None:
            values["recipient"] = recipient
        session.execute(update(pages).where(pages.c.id == page["id"]).values(**values))
