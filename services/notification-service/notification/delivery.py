"""Accepting notifications into a durable outbox in PostgreSQL.

`accept` commits the notification as `pending` (due now) before anything is sent, so a crash or a
restart loses nothing; `accept_batch` stores a pager's batch of them in one transaction. A recipient
the channel would refuse (a webhook host not allowed, an Apprise URL it cannot use) is refused here,
and nothing is stored. `notification.dispatcher` delivers what was accepted.
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from uuid import uuid4

from sqlalchemy import RowMapping
from sqlalchemy.orm import Session

from notification import service
from notification.channels import Channel
from notification.schemas import BatchNotification, Destination, NotifyRequest
from platform_common.errors import Conflict, InvalidInput, PlatformError


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
