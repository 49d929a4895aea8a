"""Paging the on-call: who it is (oncall-service) and getting the page out (notification-service).

Pages are an outbox: a row in `pages` is written in the same transaction as the incident, and the pager
worker delivers it. No transaction or lock is held while a peer is called: the page is leased
(`platform_common.outbox`), oncall-service and notification-service are asked, and the outcome, the
assignment and the timeline event are written in one short transaction, only if the lease is still
ours. Pages due together are handled as one batch: one on-call lookup, one delivery-plan lookup and one
hand-over to notification-service (`POST /api/v1/notify/batch`) for all of them, and one transaction for
their outcomes; one page alone uses the single routes. A peer that is down leaves the pages pending with a
backoff; nothing is dropped. A batch notification-service refuses is sent again page by page, so only the
page it refuses fails. Each notification
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
from uuid import UUID

from sqlalchemy import RowMapping
from sqlalchemy.orm import Session, sessionmaker

from incident_management import service
from incident_management.oncall_lookups import OnCall, Plan, lookup_plans, lookup_primaries
from incident_management.tables import pages
from platform_common import outbox
from platform_common.clock import utcnow
from platform_common.db import autocommit
from platform_common.http import PeerUnavailable, ServiceClient
from platform_common.pagelinks import PageLinker, Who
from platform_common.recipients import Destination, destinations

logger = logging.getLogger(__name__)
ACTOR = "pager"
MAX_PAGES_PER_CYCLE = 200
PAGES_PER_BATCH = 25  # leased together by one worker
MAX_NOTIFICATIONS_PER_BATCH = 100  # notification-service's limit per POST /api/v1/notify/batch
# Longer than a whole attempt: the lookups and the hand-over of a batch, each with its timeout and
# retries (about 25 s with the default settings).
LEASE_SECONDS = 60.0


class PageRejected(Exception):
    """notification-service refused the page (4xx): retrying would not help."""


def _via(sent: tuple[Destination, ...]) -> str:
    return ", ".join(to.channel + (f" after {to.delay_minutes} min" if to.delay_minutes else "") for to in sent)


def _event(page: RowMapping, kind: str, message: str, **data: Any) -> dict[str, Any]:
    """A timeline event on the page's incident, naming the page."""
    return {
        "incident_id": page["incident_id"],
        "kind": kind,
        "actor": ACTOR,
        "message": message,
        "data": {"page_id": str(page["id"]), **data},
    }


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


@dataclass(frozen=True)
class _Addressed:
    """A page whose person is known, with the notifications that page them."""

    page: RowMapping
    recipient: str
    primary: OnCall | None
    sent: tuple[Destination, ...]
    bodies: tuple[tuple[str, dict[str, Any]], ...]  # (Idempotency-Key, POST /api/v1/notify body)


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
        """Deliver pages that are due, in batches, each page under a lease; returns how many were handled."""
        handled = 0
        while handled < MAX_PAGES_PER_CYCLE:
            leased = outbox.take_many(self.session_factory, pages, now=self.clock(), lease_seconds=LEASE_SECONDS, limit=PAGES_PER_BATCH)
            if leased:
                self._deliver(leased)
                handled += len(leased)
            if len(leased) < PAGES_PER_BATCH:
                # Every page due was leased: asking again would find none. A page queued since wakes a
                # worker (opening wakes one after its commit); one that falls due comes at the next interval.
                break
        return handled

    def _deliver(self, leased: list[RowMapping]) -> None:
        with self.session_factory() as session:
            autocommit(session)  # a read: no transaction to begin and roll back
            incidents = service.get_many(session, ids={page["incident_id"] for page in leased})
        self._record(leased, incidents, self._attempt(leased, incidents))

    def _attempt(self, leased: list[RowMapping], incidents: dict[UUID, RowMapping]) -> dict[UUID, Outcome]:
        """Find each page's person and send the pages (peers only, no database): each page's outcome."""
        outcomes: dict[UUID, Outcome] = {}
        unknown = {incidents[page["incident_id"]]["service"] for page in leased if page["recipient"] is None}
        try:
            primaries = lookup_primaries(self.oncall, unknown) if unknown else {}
        except PeerUnavailable as exc:
            primaries = {}
            outcomes.update((page["id"], Outcome("pending", error=str(exc))) for page in leased if page["recipient"] is None)
        found: list[tuple[RowMapping, str, OnCall | None]] = []
        for page in (page for page in leased if page["id"] not in outcomes):
            primary = primaries.get(incidents[page["incident_id"]]["service"]) if page["recipient"] is None else None
            if page["recipient"] is None and primary is None:
                outcomes[page["id"]] = Outcome("skipped", error="no on-call schedule")
            else:
                found.append((page, page["recipient"] or primary.address, primary))  # type: ignore[union-attr]
        try:
            plans = lookup_plans(self.oncall, {recipient for _, recipient, _ in found}) if found else {}
        except PeerUnavailable as exc:
            outcomes.update((page["id"], Outcome("pending", primary=primary, error=str(exc))) for page, _, primary in found)
            return outcomes
        addressed = [
            self._address(page, incidents[page["incident_id"]], recipient, primary, plans[recipient]) for page, recipient, primary in found
        ]
        for chunk in _chunks(addressed):
            outcomes.update(self._send(chunk))
        return outcomes

    def _address(self, page: RowMapping, incident: RowMapping, recipient: str, primary: OnCall | None, plan: Plan) -> _Addressed:
        sent = tuple(destinations(plan.steps, channels=self.channels, address=recipient))
        message = page_message(incident) + self.links.text(incident["id"], _who(incident, recipient, primary, plan))
        bodies = []
        for to in sent:
            body = {"incident_id": str(incident["id"]), "channel": to.channel, "recipient": to.recipient, "message": message}
            if (not_before := to.not_before(page["created_at"])) is not None:
                body["not_before"] = not_before
            bodies.append((f"page:{page['id']}:{to.key}", body))
        return _Addressed(page, recipient, primary, sent, tuple(bodies))

    def _send(self, chunk: list[_Addressed]) -> dict[UUID, Outcome]:
        """Hand a chunk of pages' notifications over in one request; a chunk refused is sent page by page."""
        items = [{**body, "idempotency_key": key} for one in chunk for key, body in one.bodies]
        if len(chunk) == 1 or len(items) <= 1:
            return {one.page["id"]: self._send_one(one) for one in chunk}
        try:
            response = self.notifier.post("/api/v1/notify/batch", json={"notifications": items})
        except PeerUnavailable as exc:
            return {one.page["id"]: Outcome("pending", primary=one.primary, error=str(exc)) for one in chunk}
        if response.status_code == 200:
            return {one.page["id"]: _sent(one) for one in chunk}
        if response.status_code >= 500:
            error = f"notification-service answered {response.status_code}"
            return {one.page["id"]: Outcome("pending", primary=one.primary, error=error) for one in chunk}
        return {one.page["id"]: self._send_one(one) for one in chunk}  # which page was refused, and only it fails

    def _send_one(self, one: _Addressed) -> Outcome:
        try:
            for key, body in one.bodies:
                response = self.notifier.post("/api/v1/notify", json=body, headers={"Idempotency-Key": key})
                if 400 <= response.status_code < 500:
                    raise PageRejected(f"{body['channel']}: HTTP {response.status_code} {response.text[:200]}")
                if response.status_code >= 500:
                    raise PeerUnavailable(f"notification-service answered {response.status_code}")
        except PeerUnavailable as exc:
            return Outcome("pending", primary=one.primary, error=str(exc))
        except PageRejected as exc:
            return Outcome("failed", primary=one.primary, error=str(exc))
        return _sent(one)

    def _record(self, leased: list[RowMapping], incidents: dict[UUID, RowMapping], outcomes: dict[UUID, Outcome]) -> None:
        """Write each page's outcome (one statement, each only if its lease is still ours), then the
        assignments and timeline events of those written: one transaction."""
        now = self.clock()
        written = [(page, self._values(page, outcomes[page["id"]], now)) for page in leased]
        statement, parameters = outbox.record_many_statement(pages, written)
        with self.session_factory() as session:
            recorded = set(session.execute(statement, parameters).scalars())
            events = []
            for page in leased:
                outcome = outcomes[page["id"]]
                if page["id"] not in recorded:
                    logger.warning("page %s: lease lost, outcome %s not recorded", page["id"], outcome.status)
                    continue
                incident = incidents[page["incident_id"]]
                if outcome.primary is not None:
                    incident = service.get_or_raise(session, incident_id=page["incident_id"], lock=True)
                    if incident["assigned_to"] is None:
                        service.assign(session, incident=incident, assignee=outcome.primary.name, actor=ACTOR, now=now)
                events.append(_event_of(page, incident, outcome, attempts=page["attempts"] + 1))
            service.add_events(session, [event for event in events if event is not None], now=now)
            session.commit()

    def _values(self, page: RowMapping, outcome: Outcome, now: datetime) -> dict[str, Any]:
        """The page's columns after this attempt (every outcome sets the same ones, so pages record together)."""
        attempts = page["attempts"] + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_error": outcome.error,
            "status": outcome.status,
            "next_attempt_at": page["next_attempt_at"],
            "sent_at": None,
            "recipient": page["recipient"],
        }
        if outcome.status == "pending":
            values["next_attempt_at"] = now + timedelta(seconds=min(self.max_backoff_seconds, 2.0**attempts))
            logger.warning("page %s pending (attempt %d): %s", page["id"], attempts, outcome.error)
        if outcome.status == "sent":
            values.update(sent_at=now, recipient=outcome.recipient)
        return values


def _event_of(page: RowMapping, incident: RowMapping, outcome: Outcome, *, attempts: int) -> dict[str, Any] | None:
    if outcome.status == "sent":
        message = f"Paged {outcome.recipient} via {_via(outcome.sent)}"
        channels = [to.channel for to in outcome.sent]
        return _event(page, "paged", message, recipient=outcome.recipient, reason=page["reason"], channels=channels)
    if outcome.status == "skipped":
        return _event(page, "page_skipped", f"Nobody paged: team {incident['service']} has no on-call schedule")
    if outcome.status == "failed":
        return _event(page, "page_failed", f"Page refused by notification-service: {outcome.error}")
    if attempts == 1:
        return _event(page, "page_pending", f"Page not delivered yet, retrying: {outcome.error}")
    return None


def _sent(one: _Addressed) -> Outcome:
    return Outcome("sent", recipient=one.recipient, primary=one.primary, sent=one.sent)


def _chunks(addressed: list[_Addressed]) -> list[list[_Addressed]]:
    """Pages in order, as many per chunk as fit one notify batch (a page's notifications stay together)."""
    chunks: list[list[_Addressed]] = [[]]
    for one in addressed:
        if sum(len(other.bodies) for other in chunks[-1]) + len(one.bodies) > MAX_NOTIFICATIONS_PER_BATCH:
            chunks.append([])
        chunks[-1].append(one)
    return [chunk for chunk in chunks if chunk]
