"""Accepting notifications and delivering them: a durable outbox in PostgreSQL.

`accept` commits the notification as `pending` (due now) before anything is sent, so a crash or a
restart loses nothing; `accept_batch` stores a pager's batch of them in one transaction. Delivery runs
on several workers per replica (`Dispatcher.deliver_due`), each attempt in its destination's lane
(`notification.lanes`: a slow receiver holds only a few workers); none of them holds a lock or an open
transaction while it sends:

1. claim: one short transaction leases the due row (`platform_common.outbox.take`: `FOR UPDATE SKIP
   LOCKED`, then its `next_attempt_at` moves to the lease's end) and commits;
2. send: a retry (or a delayed notification rule) first asks incident-management whether the incident
   still wants the page; the attempt itself is bounded by DELIVERY_ATTEMPT_TIMEOUT_SECONDS;
3. record: a second short transaction writes the attempt and the next state, only if the lease is
   still the worker's (`outbox.record`), and queues what follows (a timeline report, a fallback
   notification).

A worker that dies mid-attempt leaves a lease that runs out: the row is claimed again, nothing is
lost. While a lease holds no other worker or replica touches the row, so a page is sent once. Delivery
is at-least-once: a send whose outcome could not be recorded is made again. What happens after a
failure is decided in `retries`.
"""

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from uuid import uuid4

from sqlalchemy import RowMapping, func
from sqlalchemy.orm import Session, sessionmaker

from notification import reports, service
from notification.channels import Channel, DeliveryError, Notification
from notification.grouped import GroupWriter
from notification.incidents import IncidentState, incident_state
from notification.lanes import Lanes
from notification.leased import Leased
from notification.metrics import count_attempt, count_cancelled
from notification.retries import CANCELLED, SENT, Decision, RetryPolicy
from notification.schemas import BatchNotification, Destination, NotifyRequest
from notification.tables import notifications
from platform_common import outbox
from platform_common.clock import utcnow
from platform_common.errors import Conflict, InvalidInput, PlatformError
from platform_common.http import ServiceClient

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
MAX_DELIVERIES_PER_CYCLE = 50


def check_destination(data: Destination, *, channels: Mapping[str, Channel]) -> None:
    """Raise InvalidInput (422) when the channel would refuse this recipient with the current configuration."""
    if problem := channels[data.channel].recipient_problem(data.recipient):
        raise InvalidInput("Request validation failed", details=[{"field": "recipient", "message": problem, "type": "value_error"}])


def _recipient_problems(data: NotifyRequest, channels: Mapping[str, Channel]) -> list[dict[str, str]]:
    """Recipients the channels refuse with the current configuration (unknown WEBHOOK_URL, a refused host)."""
    targets = [("recipient", data.channel, data.recipient)]
    targets += [(f"fallbacks.{index}.recipient", f.channel, f.recipient) for index, f in enumerate(data.fallbacks)]
    return [
        {"field": field, "message": problem, "type": "value_error"}
        for field, channel, recipient in targets
        if (problem := channels[channel].recipient_problem(recipient))
    ]


def accept(
    session: Session, *, data: NotifyRequest, idempotency_key: str | None, channels: Mapping[str, Channel], now: datetime
) -> tuple[RowMapping, bool]:
    """Store the notification as pending and commit. Returns (notification, created); a replay is not created."""
    return _accept(session, [(data, idempotency_key)], channels=channels, now=now, named=None)[0]


def accept_batch(
    session: Session, *, items: Sequence[BatchNotification], channels: Mapping[str, Channel], now: datetime
) -> list[tuple[RowMapping, bool]]:
    """`accept` for each item in order (an idempotency key seen earlier in the batch is a replay of that
    item), all in one transaction of a constant number of statements: an invalid item stores nothing and
    its error names it (`notifications.<index>`)."""
    return _accept(session, [(item, item.idempotency_key) for item in items], channels=channels, now=now, named="notifications")


def _accept(
    session: Session,
    items: Sequence[tuple[NotifyRequest, str | None]],
    *,
    channels: Mapping[str, Channel],
    now: datetime,
    named: str | None,
) -> list[tuple[RowMapping, bool]]:
    """One SELECT for the keys already used, one INSERT for the rest, and one more SELECT only for keys
    a concurrent request committed meanwhile; then commit. `named`: what an error calls the items."""
    stored = service.get_by_idempotency_keys(session, keys={key for _, key in items if key is not None})
    new = _new_notifications(items, stored, channels=channels, named=named)
    inserted = service.create_many(session, new=list(new.values()), now=now)
    raced = {item.idempotency_key for item in new.values() if item.id not in inserted}  # a concurrent request committed first
    stored |= service.get_by_idempotency_keys(session, keys=raced)
    stored |= {row["idempotency_key"]: row for row in inserted.values() if row["idempotency_key"] is not None}
    results = []
    for index, (data, key) in enumerate(items):
        if index in new and new[index].id in inserted:
            results.append((inserted[new[index].id], True))
            continue
        row = stored[key]  # not inserted, so its key is held (a notification without a key is always inserted)
        with _item(named, index):
            _check_replay(_asked(row), data)
        results.append((row, False))
    session.commit()
    return results


def _new_notifications(
    items: Sequence[tuple[NotifyRequest, str | None]],
    stored: Mapping[str, RowMapping],
    *,
    channels: Mapping[str, Channel],
    named: str | None,
) -> dict[int, service.NewNotification]:
    """The items to insert, by index: each one whose key is not held yet (in the database or by an earlier
    item), with its lane. A replay asking for something else is a Conflict, an invalid item InvalidInput."""
    holders = {key: _asked(row) for key, row in stored.items()}
    new: dict[int, service.NewNotification] = {}
    for index, (data, key) in enumerate(items):
        with _item(named, index):
            if key is not None and key in holders:
                _check_replay(holders[key], data)
                continue
            if problems := _recipient_problems(data, channels):
                raise InvalidInput("Request validation failed", details=problems)
            new[index] = service.NewNotification(uuid4(), data, destination_of(channels, data.channel, data.recipient), key)
            if key is not None:
                holders[key] = _asked(data)
    return new


def _asked(request: RowMapping | NotifyRequest) -> tuple[object, ...]:
    """What a replay must ask for again: the incident, channel and recipient."""
    if isinstance(request, NotifyRequest):
        return request.incident_id, request.channel, request.recipient
    return request["incident_id"], request["channel"], request["recipient"]


def _check_replay(holder: tuple[object, ...], data: NotifyRequest) -> None:
    if holder != _asked(data):
        raise Conflict("Idempotency-Key already used for a different incident, channel or recipient")


@contextmanager
def _item(named: str | None, index: int) -> Iterator[None]:
    """Errors raised inside name the item (`notifications.3: …`, fields `notifications.3.recipient`) when `named`."""
    try:
        yield
    except PlatformError as error:
        if named is None:
            raise
        where = f"{named}.{index}"
        details = [{**detail, "field": f"{where}.{detail['field']}"} for detail in error.details]
        raise type(error)(f"{where}: {error.message}", details=details) from None


def destination_of(channels: Mapping[str, Channel], channel: str, recipient: str) -> str:
    """Where a notification to `recipient` on `channel` connects: its lane (`notification.lanes`)."""
    return channels[channel].destination(recipient)


def _lane(row: RowMapping) -> str:
    return row["destination"] or row["channel"]  # rows stored before lanes_0001 are laned by channel


@dataclass(frozen=True)
class _Outcome:
    row: RowMapping
    decision: Decision
    error: str | None
    duration: float
    attempted_at: datetime


@dataclass
class Dispatcher:
    session_factory: sessionmaker[Session]
    channels: Mapping[str, Channel]
    policy: RetryPolicy
    incidents: ServiceClient
    lease_seconds: float
    lanes: Lanes
    batch_size: int  # notifications leased per claim: the replica's delivery workers
    attempt_seconds: float  # the longest one attempt may take
    clock: Clock = utcnow

    def __post_init__(self) -> None:
        # A leased notification is started within half of what its lease leaves beyond one attempt.
        start_within = (self.lease_seconds - self.attempt_seconds) / 2
        self._leased = Leased(lease_seconds=self.lease_seconds, start_within=start_within, lane=_lane)
        self._recorder = GroupWriter(self._record)

    def deliver_due(self) -> int:
        """Deliver notifications that are due, at most MAX_DELIVERIES_PER_CYCLE, each in its destination's
        lane (`notification.lanes`); returns how many were handled. No transaction is open while sending."""
        handled = 0
        while handled < MAX_DELIVERIES_PER_CYCLE and (claimed := self.lanes.claim(self._take, _lane)) is not None:
            row, ticket = claimed
            try:
                self.deliver(row)
            finally:
                self.lanes.release(ticket)
            handled += 1
        return handled

    def claim(self) -> RowMapping | None:
        """Lease the notification that has been due longest (committed: no lock is held afterwards)."""
        return self._take([])

    def _take(self, full: list[str]) -> RowMapping | None:
        """The notification due longest whose destination's lane has room: one leased earlier
        (`notification.leased`), else the first of a new batch leased in one statement."""
        now = self.clock()
        if (row := self._leased.pop(full=full, now=now)) is not None:
            return row
        where = func.coalesce(notifications.c.destination, notifications.c.channel).not_in(full) if full else None
        open("/tmp/hd_takes.txt", "a").write(f"{len(full)}\n")  # HD-DEBUG
        self._leased.add(
            outbox.take_many(
                self.session_factory, notifications, now=now, lease_seconds=self.lease_seconds, limit=self.batch_size, where=where
            )
        )
        return self._leased.pop(full=full, now=now)

    def deliver(self, row: RowMapping) -> None:
        """One attempt at a leased notification, and its outcome recorded."""
        incident = cache(lambda: incident_state(self.incidents, row["incident_id"]))
        # A retry, or a delayed notification rule, is only sent while its incident still wants it.
        if (row["attempts"] or row["not_before"] is not None) and incident() == IncidentState.CLOSED:
            self._cancel(row)
            return
        attempted_at = self.clock()
        started = time.perf_counter()
        error, decision = None, SENT
        try:
            self.channels[row["channel"]].send(
                Notification(
                    id=row["id"], incident_id=row["incident_id"], channel=row["channel"], recipient=row["recipient"], message=row["message"]
                )
            )
        except DeliveryError as exc:
            error = str(exc)
            decision = self.policy.after_failure(
                row["attempts"] + 1,
                permanent=exc.permanent,
                now=attempted_at,
                created_at=row["created_at"],
                already_failing=row["failing_since"] is not None,
                incident=incident,
            )
        duration = time.perf_counter() - started
        if self._recorder.submit(_Outcome(row, decision, error, duration, attempted_at)):
            count_attempt(row["channel"], outcome=decision.outcome, duration=duration)
            _log(row, decision, error)
        else:
            logger.warning("notification %s: lease lost while sending, outcome not recorded", row["id"])

    def _record(self, outcomes: Sequence[_Outcome]) -> list[bool]:
        """Record attempts that ended at about the same time (`notification.grouped`) at once: whether
        each was (False: its lease was lost, nothing written for it). One statement; in a transaction
        with what a failure calls for (a timeline report, a fallback) when any of them calls for it."""
        follow_ups = [outcome for outcome in outcomes if outcome.decision.report or outcome.decision.starts_fallback]
        with self.session_factory() as session:
            if not follow_ups:
                session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})  # no BEGIN / COMMIT round trips
            recorded = service.record_attempts(session, made=[_attempt(outcome) for outcome in outcomes])
            for outcome in follow_ups:
                if outcome.row["id"] in recorded:
                    self._queue_follow_ups(session, outcome)
            session.commit()
        return [outcome.row["id"] in recorded for outcome in outcomes]

    def _queue_follow_ups(self, session: Session, outcome: _Outcome) -> None:
        """What a failure calls for, in the transaction that records it: a timeline report, the fallback."""
        row, decision = outcome.row, outcome.decision
        if decision.report:
            reports.queue(
                session, kind=decision.report, notification=row, error=outcome.error, attempts=row["attempts"] + 1, now=outcome.attempted_at
            )
        if decision.starts_fallback:
            service.create_fallback(session, parent=row, destination_of=partial(destination_of, self.channels), now=outcome.attempted_at)

    def _cancel(self, row: RowMapping) -> None:
        with self.session_factory() as session:
            cancelled = service.record_cancelled(session, notification=row, now=self.clock())
            session.commit()
        if cancelled:
            count_cancelled(row["channel"])
            _log(row, CANCELLED, None)


def _attempt(outcome: _Outcome) -> service.Attempt:
    row, decision = outcome.row, outcome.decision
    return service.Attempt(
        notification=row,
        error=outcome.error,
        duration=outcome.duration,
        attempted_at=outcome.attempted_at,
        status=decision.status,
        next_attempt_at=decision.next_attempt_at,
        failing_since=row["failing_since"] or (outcome.attempted_at if decision.failing else None),
    )


def _log(row: RowMapping, decision: Decision, error: str | None) -> None:
    number = row["attempts"] + 1
    if decision is CANCELLED:
        logger.info("notification %s via %s cancelled: its incident is no longer open", row["id"], row["channel"])
    elif decision is SENT:
        logger.info("notification %s sent via %s (attempt %d)", row["id"], row["channel"], number)
    elif decision.next_attempt_at is not None:
        retry_at = decision.next_attempt_at.isoformat()
        logger.warning("notification %s via %s: attempt %d failed, retry at %s: %s", row["id"], row["channel"], number, retry_at, error)
    else:
        logger.error("notification %s via %s ended %s after %d attempt(s): %s", row["id"], row["channel"], decision.status, number, error)
