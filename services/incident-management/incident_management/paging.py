"""Paging the on-call: who it is (oncall-service) and getting the page out (notification-service).

Pages are an outbox: a row in `pages` is written in the same transaction as the incident, and the pager
worker delivers it. No transaction or lock is held while a peer is called: the page is leased
(`platform_common.outbox`), oncall-service and notification-service are asked, and the outcome, the
assignment and the timeline event are written in one short transaction, only if the lease is still
ours. A peer that is down leaves the page pending with a backoff; nothing is dropped. Each notification
carries an idempotency key, so a retried page (or one retried by a replica whose lease ran out) is
never delivered twice. Every page ends with its signed acknowledge and resolve links for the person
paged (`platform_common.pagelinks`).

Who is paged how is oncall-service's rule (SPEC §12): the person's delivery plan (`GET
/api/v1/people/delivery-plan`) names a platform user's contact methods per their notification rules
(a delayed rule is a notification not sent before the page's creation + its delay); a person who is not
a user, or has no contact methods, is paged on every `PAGE_CHANNELS` channel at their address.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.orm import Session, sessionmaker

from incident_management import service
from incident_management.tables import pages
from platform_common import outbox
from platform_common.clock import utcnow
from platform_common.http import PeerUnavailable, ServiceClient
from platform_common.pagelinks import PageLinker, Who
from platform_common.recipients import Destination, destinations, is_email

logger = logging.getLogger(__name__)
ACTOR = "pager"
MAX_PAGES_PER_CYCLE = 50
# Longer than a whole attempt: the on-call lookup and one notification per channel, each with its
# timeout and retries (about 25 s with the default settings and three channels).
LEASE_SECONDS = 60.0


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


@dataclass(frozen=True)
class Plan:
    """How oncall-service says to page a person: as a platform user on their contact methods, or not."""

    user_id: str | None = None
    name: str | None = None
    steps: tuple[dict[str, Any], ...] = ()


def lookup_plan(oncall: ServiceClient, address: str) -> Plan:
    """The person's delivery plan (a name that is not an email address has none). Raises PeerUnavailable."""
    if not is_email(address):
        return Plan()
    response = oncall.get("/api/v1/people/delivery-plan", params={"email": address})
    if response.status_code == 404:  # an oncall-service without people: everyone is paged on PAGE_CHANNELS
        return Plan()
    if response.status_code != 200:
        raise PeerUnavailable(f"oncall-service answered {response.status_code} for the delivery plan")
    body = response.json()
    return Plan(body["user_id"], body["name"], tuple(body["plan"]))


def _via(sent: list[Destination]) -> str:
    return ", ".join(to.channel + (f" after {to.delay_minutes} min" if to.delay_minutes else "") for to in sent)


def _event(session: Session, page: RowMapping, kind: str, message: str, now: datetime, **data: Any) -> None:
    """A timeline event on the page's incident, naming the page."""
    data = {"page_id": str(page["id"]), **data}
    service.add_event(session, incident_id=page["incident_id"], kind=kind, actor=ACTOR, message=message, data=data, now=now)


def page_message(incident: RowMapping) -> str:
    return (
        f"[{incident['severity'].upper()}] {incident['title']} — service {incident['service']}, "
        f"incident {incident['id']} ({incident['status']})"
    )


def _who(incident: RowMapping, recipient: str, primary: OnCall | None, plan: Plan) -> Who:
    """The person paged (their page links act as them): the platform user the address belongs to, the
    primary just found, else the assignee at the page's address."""
    if plan.user_id is not None:
        return Who(plan.name or recipient, recipient, plan.user_id)
    if primary is not None:
        return Who(primary.name, primary.email)
    name = incident["assigned_to"] or recipient
    return Who(name, recipient if recipient != name else None)


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: `sent`, `pending` (a peer was down), `failed` (refused) or `skipped`."""

    status: str
    recipient: str | None = None
    primary: OnCall | None = None  # found by asking oncall-service: assigned if the incident has nobody
    error: str | None = None
    sent: tuple[Destination, ...] = ()


@dataclass
class Pager:
    session_factory: sessionmaker[Session]
    oncall: ServiceClient
    notifier: ServiceClient
    channels: list[str]
    max_backoff_seconds: float
    clock: Callable[[], datetime] = utcnow
    links: PageLinker = field(default_factory=PageLinker.from_environment)

    def deliver_due(self) -> int:
        """Deliver pages that are due, each under a lease; returns how many were handled."""
        return outbox.drain(
            self.session_factory, pages, self._deliver, clock=self.clock, lease_seconds=LEASE_SECONDS, limit=MAX_PAGES_PER_CYCLE
        )

    def _deliver(self, page: RowMapping) -> None:
        with self.session_factory() as session:
            incident = service.get_or_raise(session, incident_id=page["incident_id"])
        self._record(page, self._attempt(page, incident))

    def _attempt(self, page: RowMapping, incident: RowMapping) -> Outcome:
        """Find the recipient and send the page (peers only, no database)."""
        primary = None
        try:
            recipient = page["recipient"]
            if recipient is None:
                primary = lookup_primary(self.oncall, incident["service"])
                if primary is None:
                    return Outcome("skipped", error="no on-call schedule")
                recipient = primary.address
            plan = lookup_plan(self.oncall, recipient)
            sent = destinations(plan.steps, channels=self.channels, address=recipient)
            self._send(page, incident, sent, _who(incident, recipient, primary, plan))
        except PeerUnavailable as exc:
            return Outcome("pending", primary=primary, error=str(exc))
        except PageRejected as exc:
            return Outcome("failed", primary=primary, error=str(exc))
        return Outcome("sent", recipient=recipient, primary=primary, sent=tuple(sent))

    def _send(self, page: RowMapping, incident: RowMapping, sent: list[Destination], who: Who) -> None:
        message = page_message(incident) + self.links.text(incident["id"], who)
        for to in sent:
            body = {"incident_id": str(incident["id"]), "channel": to.channel, "recipient": to.recipient, "message": message}
            if (not_before := to.not_before(page["created_at"])) is not None:
                body["not_before"] = not_before
            response = self.notifier.post("/api/v1/notify", json=body, headers={"Idempotency-Key": f"page:{page['id']}:{to.key}"})
            if 400 <= response.status_code < 500:
                raise PageRejected(f"{to.channel}: HTTP {response.status_code} {response.text[:200]}")
            if response.status_code >= 500:
                raise PeerUnavailable(f"notification-service answered {response.status_code}")

    def _record(self, page: RowMapping, outcome: Outcome) -> None:
        """Write the outcome, the assignment and the timeline event if the lease is still ours."""
        now = self.clock()
        attempts = page["attempts"] + 1
        values: dict[str, Any] = {"attempts": attempts, "last_error": outcome.error}
        if outcome.status == "pending":
            values["next_attempt_at"] = now + timedelta(seconds=min(self.max_backoff_seconds, 2.0**attempts))
            logger.warning("page %s pending (attempt %d): %s", page["id"], attempts, outcome.error)
        else:
            values["status"] = outcome.status
        if outcome.status == "sent":
            values.update(sent_at=now, recipient=outcome.recipient)
        with self.session_factory() as session:
            if not outbox.record(session, pages, page, **values):
                logger.warning("page %s: lease lost, outcome %s not recorded", page["id"], outcome.status)
                return
            incident = service.get_or_raise(session, incident_id=page["incident_id"], lock=outcome.primary is not None)
            if outcome.primary is not None and incident["assigned_to"] is None:
                service.assign(session, incident=incident, assignee=outcome.primary.name, actor=ACTOR, now=now)
            self._add_event(session, page, incident, outcome, attempts=attempts, now=now)
            session.commit()

    def _add_event(
        self, session: Session, page: RowMapping, incident: RowMapping, outcome: Outcome, *, attempts: int, now: datetime
    ) -> None:
        if outcome.status == "sent":
            message = f"Paged {outcome.recipient} via {_via(list(outcome.sent))}"
            channels = [to.channel for to in outcome.sent]
            _event(session, page, "paged", message, now, recipient=outcome.recipient, reason=page["reason"], channels=channels)
        elif outcome.status == "skipped":
            _event(session, page, "page_skipped", f"Nobody paged: team {incident['service']} has no on-call schedule", now)
        elif outcome.status == "failed":
            _event(session, page, "page_failed", f"Page refused by notification-service: {outcome.error}", now)
        elif attempts == 1:
            _event(session, page, "page_pending", f"Page not delivered yet, retrying: {outcome.error}", now)
