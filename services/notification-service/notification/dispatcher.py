"""Delivering the notifications accepted into the outbox (`notification.delivery`).

Delivery runs on several workers per replica (`Dispatcher.deliver_due`), each attempt in its
destination's lane (`notification.lanes`: a slow receiver holds only a few workers); none of them holds
a lock or an open transaction while it sends:

1. claim: one statement leases a batch of due notifications, as many as the replica has workers
   (`platform_common.outbox.take_many`: `FOR UPDATE SKIP LOCKED`, then their `next_attempt_at` moves to
   the lease's end; committed). The batch is shared (`notification.leased`): each worker takes the next
   one whose lane has room, so a batch's notifications still go out side by side; one left waiting
   until its lease could no longer cover an attempt is not sent by this replica but claimed again;
2. send: a retry (or a delayed notification rule) first asks incident-management whether the incident
   still wants the page (a fresh page asks nothing); the attempt is bounded by
   DELIVERY_ATTEMPT_TIMEOUT_SECONDS;
3. record: the attempt and the next state are written only if the lease is still the worker's
   (`outbox.record_many_statement`), together with the attempts of other workers that ended meanwhile
   (`notification.grouped`: one statement for all of them, atomic by itself), in a transaction with what
   follows a failure (a timeline report, a fallback notification) when one calls for it.

A worker that dies mid-attempt leaves a lease that runs out: the row is claimed again, nothing is
lost. While a lease holds no other worker or replica touches the row, so a page is sent once. Delivery
is at-least-once: a send whose outcome could not be recorded is made again. What happens after a
failure is decided in `retries`.
"""

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial

from sqlalchemy import RowMapping, bindparam, func
from sqlalchemy.orm import Session, sessionmaker

from notification import reports, service
from notification.channels import Channel, DeliveryError, Notification
from notification.delivery import destination_of
from notification.grouped import GroupWriter
from notification.incidents import IncidentState, incident_state
from notification.lanes import Lanes
from notification.leased import Leased
from notification.metrics import count_attempt, count_cancelled
from notification.retries import CANCELLED, SENT, Decision, RetryPolicy
from notification.tables import notifications
from platform_common import outbox
from platform_common.clock import utcnow
from platform_common.db import autocommit
from platform_common.http import ServiceClient

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]
MAX_DELIVERIES_PER_CYCLE = 50
# How long an attempt's outcome may wait for the attempts still under way to end, to be recorded with them,
# and for how long an attempt may have been under way and still be waited for (a slower one is not).
RECORD_LINGER_SECONDS = 0.005
RECORD_WAITS_FOR_ATTEMPTS_STARTED_WITHIN_SECONDS = 0.05

# Built once, so the claim's statement is too (`outbox.take_many`): `full` names the lanes with no room.
_LANE_HAS_ROOM = func.coalesce(notifications.c.destination, notifications.c.channel).not_in(bindparam("full", expanding=True))


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
        self._recorder = GroupWriter(
            self._record, linger_seconds=RECORD_LINGER_SECONDS, recent_seconds=RECORD_WAITS_FOR_ATTEMPTS_STARTED_WITHIN_SECONDS
        )
        self._claims = 0  # claims from the database so far (numbered from 1)
        self._last_short: tuple[int, frozenset[str]] | None = None  # the last one that found fewer than it asked for, and its full lanes

    def deliver_due(self) -> int:
        """Deliver notifications that are due, at most MAX_DELIVERIES_PER_CYCLE, each in its destination's
        lane (`notification.lanes`); returns how many were handled. No transaction is open while sending."""
        handled = 0
        while (
            handled < MAX_DELIVERIES_PER_CYCLE and (claimed := self.lanes.claim(partial(self._take, after=self._claims), _lane)) is not None
        ):
            row, ticket = claimed
            try:
                self.deliver(row)
            finally:
                self.lanes.release(ticket)
            handled += 1
        return handled

    def claim(self) -> RowMapping | None:
        """The next leased notification whatever its lane: left from the last batch, or the first of a
        new one (committed: no lock is held afterwards)."""
        return self._take([], after=self._claims)

    def _take(self, full: list[str], *, after: int) -> RowMapping | None:
        """The notification due longest whose destination's lane has room: one leased earlier
        (`notification.leased`), else the first of a new batch leased in one statement. Runs under the
        lanes' lock. `after`: the claims made when the worker began to wait for that lock. A claim
        started since then that found fewer than it asked for (for no more lanes than ours) saw
        everything committed before this worker was woken and leased all of it that was due: asking
        again would find nothing, so the worker's cycle ends without a statement (a burst of pages
        wakes every worker; without this, each would end its cycle with a claim that finds nothing)."""
        now = self.clock()
        if (row := self._leased.pop(full=full, now=now)) is not None:
            return row
        if self._last_short is not None and self._last_short[0] > after and self._last_short[1] <= set(full):
            return None
        self._claims += 1
        leased = outbox.take_many(
            self.session_factory,
            notifications,
            now=now,
            lease_seconds=self.lease_seconds,
            limit=self.batch_size,
            where=_LANE_HAS_ROOM,
            parameters={"full": full},
        )
        if len(leased) < self.batch_size:
            self._last_short = (self._claims, frozenset(full))
        self._leased.add(leased)
        return self._leased.pop(full=full, now=now)

    def deliver(self, row: RowMapping) -> None:
        """One attempt at a leased notification, and its outcome recorded."""
        incident = cache(lambda: incident_state(self.incidents, row["incident_id"]))
        # A retry, or a delayed notification rule, is only sent while its incident still wants it.
        if (row["attempts"] or row["not_before"] is not None) and incident() == IncidentState.CLOSED:
            self._cancel(row)
            return
        with self._recorder.expecting() as on_its_way:  # an outcome recorded meanwhile may wait for this one
            outcome = self._send(row, incident)
            recorded = on_its_way.submit(outcome)
        if recorded:
            count_attempt(row["channel"], outcome=outcome.decision.outcome, duration=outcome.duration)
            _log(row, outcome.decision, outcome.error)
        else:
            logger.warning("notification %s: lease lost while sending, outcome not recorded", row["id"])

    def _send(self, row: RowMapping, incident: Callable[[], IncidentState]) -> _Outcome:
        """One attempt on the notification's channel, and what to do next."""
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
        return _Outcome(row, decision, error, time.perf_counter() - started, attempted_at)

    def _record(self, outcomes: Sequence[_Outcome]) -> list[bool]:
        """Record attempts that ended at about the same time (`notification.grouped`) at once: whether
        each was (False: its lease was lost, nothing written for it). One statement; in a transaction
        with what a failure calls for (a timeline report, a fallback) when any of them calls for it."""
        follow_ups = [outcome for outcome in outcomes if outcome.decision.report or outcome.decision.starts_fallback]
        with self.session_factory() as session:
            if not follow_ups:
                autocommit(session)  # no BEGIN / COMMIT round trips
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
