"""Opening incidents, one or a batch at a time: find the on-call, assign, queue the page.

A request opens an incident, or stands for one that exists already: an earlier request with its
Idempotency-Key (a replay), or, with a correlation window, the newest unresolved incident of its service,
severity and alert group opened within the window (joined). A batch (alert-ingestion's new alerts during a
flood) is decided exactly as its requests would be one after another, in a constant number of statements
and one on-call lookup.

No transaction is open while a peer is asked anything: oncall-service is asked for the on-call of every
team of the batch (in a thread of its own) while the batch is read (replays, correlations, the governing
policies) in autocommit, the connection is given back before its answer is awaited, then the
decision is taken again and written in a second transaction, under the advisory locks of the requests'
idempotency keys and (with a window) their (service, severity, group), taken in one order, so concurrent
callers on any replica open one incident per key and per group.
"""

from collections.abc import Sequence
from concurrent.futures import Executor
from contextvars import copy_context
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import RowMapping, text
from sqlalchemy.orm import Session

from incident_management import service
from incident_management.metrics import count_created
from incident_management.oncall_lookups import OnCall, lookup_primaries
from incident_management.schemas import IncidentCreate
from platform_common.clock import utcnow
from platform_common.db import autocommit
from platform_common.http import PeerUnavailable, ServiceClient


class Opening(StrEnum):
    """What opening did. The values of the first two are the correlation actions callers report."""

    CREATED = "new_incident"
    JOINED = "attached_to_existing_incident"
    REPLAYED = "replayed"


@dataclass(frozen=True)
class OpenRequest:
    data: IncidentCreate
    idempotency_key: str | None = None  # any string is a key, even an empty one (it is stored, so it must be)

    @property
    def group(self) -> tuple[str, str, str | None]:
        """What correlation compares: service, severity and alert group."""
        return self.data.service, str(self.data.severity), self.data.group_key


Opened = tuple[RowMapping, Opening]


# Advisory locks taken in the order of their hashes, whoever takes them.
_LOCK_IN_ORDER = text(
    "SELECT count(pg_advisory_xact_lock(h)) FROM "
    "(SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(CAST(:keys AS text[])) AS k ORDER BY h) AS ordered"
)


def _lock_key(request: OpenRequest) -> str:
    service_, severity, group_key = request.group
    return f"correlate:{service_}\x1f{severity}\x1f{group_key or ''}"


def _existing(session: Session, requests: Sequence[OpenRequest], now: datetime) -> list[Opened | None]:
    """The incident each request already stands for (a replay of its key, or the correlated one), else None."""
    replays = service.get_by_idempotency_keys(session, keys={r.idempotency_key for r in requests if r.idempotency_key is not None})
    windowed = [r for r in requests if r.data.correlation_window_seconds is not None and r.idempotency_key not in replays]
    longest = max((r.data.correlation_window_seconds or 0 for r in windowed), default=0)
    newest = service.newest_unresolved(session, groups={r.group for r in windowed}, since=now - timedelta(seconds=longest))
    found: list[Opened | None] = []
    for request in requests:
        if request.idempotency_key in replays:
            found.append((replays[request.idempotency_key], Opening.REPLAYED))
            continue
        incident = newest.get(request.group) if request.data.correlation_window_seconds is not None else None
        window = timedelta(seconds=request.data.correlation_window_seconds or 0)
        found.append((incident, Opening.JOINED) if incident is not None and incident["created_at"] >= now - window else None)
    return found


def _on_call(oncall: ServiceClient, teams: set[str]) -> tuple[dict[str, OnCall | None], bool]:
    """Each team's primary (None: no schedule) and whether oncall-service was down (then the pager finds
    them later)."""
    if not teams:
        return {}, False
    try:
        return lookup_primaries(oncall, teams), False
    except PeerUnavailable:
        return {}, True


def open_incidents(session: Session, requests: Sequence[OpenRequest], *, oncall: ServiceClient, lookups: Executor) -> list[Opened]:
    """Each request's incident and what was done: created (assigned to the on-call primary and paged,
    unless given an assignee or governed by an escalation policy), joined or replayed. Requests are
    decided in order: a later one joins or replays an incident an earlier one of the batch opened. Those
    that stood for an incident when first read keep it (unless an earlier one of their group may open a
    newer one); the others are decided again under the locks. oncall-service is asked on `lookups`
    meanwhile (the two took turns before: the read, then the lookup, 8 and 18 ms for a flood's batch
    of 32)."""
    teams = {r.data.service for r in requests if r.data.assigned_to is None}
    asked = lookups.submit(copy_context().run, _on_call, oncall, teams)  # the context: the request id
    autocommit(session)  # the first read writes nothing: no transaction to begin and roll back
    found = _existing(session, requests, utcnow())
    todo = _undecided(requests, found)
    unassigned = {requests[i].data.service for i in todo if requests[i].data.assigned_to is None}
    # A team governed by an escalation policy is paged by oncall-service (the policy's step 1, at once).
    policies = service.governing_policies(session, teams=unassigned)
    session.rollback()  # give the connection back before awaiting oncall-service; the write begins afresh
    if not todo:
        asked.cancel()  # still queued behind other lookups (a slow oncall-service): never sent in vain
        return found  # type: ignore[return-value]
    on_call, oncall_down = asked.result()
    primaries = {team: primary for team, primary in on_call.items() if team in unassigned and team not in policies}
    _lock(session, [requests[i] for i in todo])
    decided = _decide_and_write(session, [requests[i] for i in todo], primaries, policies, oncall_down=oncall_down)
    for index, opened in zip(todo, decided, strict=True):
        found[index] = opened
    return found  # type: ignore[return-value]


def _undecided(requests: Sequence[OpenRequest], found: list[Opened | None]) -> list[int]:
    """The requests to decide under the locks: those that stood for no incident, and those that joined one
    after an earlier request of their group that did not (it may open a newer one, which they join)."""
    todo, opening_groups = [], set()
    for index, (request, opened) in enumerate(zip(requests, found, strict=True)):
        if opened is None or (opened[1] == Opening.JOINED and request.group in opening_groups):
            todo.append(index)
        if opened is None:
            opening_groups.add(request.group)
    return todo


def _lock(session: Session, requests: Sequence[OpenRequest]) -> None:
    """Take the advisory locks of the requests' correlation groups (with a window) and idempotency keys, in
    one statement and one order for every caller: a key another request is storing is read as its replay
    once that commits, and concurrent batches never wait for each other in a cycle (on the locks or on the
    unique index of the keys)."""
    keys = {_lock_key(r) for r in requests if r.data.correlation_window_seconds is not None}
    keys |= {f"incident-key:{r.idempotency_key}" for r in requests if r.idempotency_key is not None}
    if keys:
        session.execute(_LOCK_IN_ORDER, {"keys": sorted(keys)})


def _decide_and_write(
    session: Session, requests: Sequence[OpenRequest], primaries: dict[str, OnCall | None], policies: dict[str, str], *, oncall_down: bool
) -> list[Opened]:
    now = utcnow()
    found = _existing(session, requests, now)
    # Which requests open an incident; the others of the batch stand for one opened by an earlier one.
    leaders: dict[Any, int] = {}
    follows: dict[int, tuple[int, Opening]] = {}
    opening: list[int] = []
    for index, (request, stored) in enumerate(zip(requests, found, strict=True)):
        if stored is not None and stored[1] == Opening.REPLAYED:
            continue
        if request.idempotency_key is not None and ("key", request.idempotency_key) in leaders:
            follows[index] = (leaders[("key", request.idempotency_key)], Opening.REPLAYED)
        elif request.data.correlation_window_seconds is not None and ("group", request.group) in leaders:
            # The newest incident of its group: the last one the batch opened, newer than any stored.
            follows[index] = (leaders[("group", request.group)], Opening.JOINED)
        elif stored is None:
            opening.append(index)
            leaders[("group", request.group)] = index
            if request.idempotency_key is not None:
                leaders[("key", request.idempotency_key)] = index
    plans = [_plan(requests[i].data, primaries, policies, oncall_down=oncall_down) for i in opening]
    created = service.create_many(
        session,
        [(requests[i].data, plan.assignee, requests[i].idempotency_key) for i, plan in zip(opening, plans, strict=True)],
        now=now,
    )
    events, pages = [], []
    for incident, plan in zip(created, plans, strict=True):
        events.extend({"incident_id": incident["id"], **event} for event in plan.events)
        if plan.paged:
            pages.append({"incident_id": incident["id"], "recipient": plan.recipient})
    service.add_events(session, events, now=now)
    service.queue_pages(session, pages, reason="new_incident", now=now)
    session.commit()
    for index, incident in zip(opening, created, strict=True):
        found[index] = (incident, Opening.CREATED)
        count_created(incident["service"], incident["severity"])
    for index, (leader, how) in follows.items():
        found[index] = (found[leader][0], how)  # type: ignore[index]
    return found  # type: ignore[return-value]


@dataclass(frozen=True)
class _Plan:
    """Who a new incident is assigned to, whether it is paged (and at which address), what the timeline says."""

    assignee: str | None
    recipient: str | None
    paged: bool
    events: list[dict[str, Any]]


def _plan(data: IncidentCreate, primaries: dict[str, OnCall | None], policies: dict[str, str], *, oncall_down: bool) -> _Plan:
    primary = None if data.assigned_to is not None else primaries.get(data.service)
    assignee = data.assigned_to or (primary.name if primary else None)
    recipient = data.assigned_to or (primary.address if primary else None)
    policy = policies.get(data.service) if data.assigned_to is None else None
    events = []
    if assignee is not None:
        events.append(_event("assigned", f"Assigned to {assignee}", {"to": assignee}))
    if assignee is not None or (oncall_down and policy is None):
        # With oncall-service down the pager finds the assignee once it is back.
        return _Plan(assignee, recipient, True, events)
    if policy is not None:
        message = f"Escalation policy '{policy}' pages this incident (its step 1 instead of the on-call primary)"
        return _Plan(None, None, False, [_event("paging_by_policy", message, {"policy": policy})])
    return _Plan(None, None, False, [_event("page_skipped", f"Nobody paged: team {data.service} has no on-call schedule", {})])


def _event(kind: str, message: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "actor": service.SYSTEM_ACTOR, "message": message, "data": data}
