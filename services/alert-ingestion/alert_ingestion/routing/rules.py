"""Routing rules (kept in order, positions 1..n) and per-service grouping: the service layer."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import RowMapping, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.orm import Session

from alert_ingestion.routing.schemas import GroupingIn, RuleIn
from alert_ingestion.routing.tables import grouping_policies, routing_rules
from platform_common.db import advisory_xact_lock
from platform_common.errors import NotFound

_ORDER_LOCK = "routing-rules-order"


def list_rules(session: Session) -> list[RowMapping]:
    return list(session.execute(select(routing_rules).order_by(routing_rules.c.position, routing_rules.c.created_at)).mappings())


def get_rule_or_raise(session: Session, *, rule_id: UUID, lock: bool = False) -> RowMapping:
    query = select(routing_rules).where(routing_rules.c.id == rule_id)
    row = session.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None:
        raise NotFound(f"Routing rule {rule_id} not found")
    return row


def _values(data: RuleIn, now: datetime) -> dict:
    return {
        "name": data.name,
        "integration_id": data.integration_id,
        "matchers": [matcher.as_dict() for matcher in data.matchers],
        "set_service": data.set_service,
        "set_severity": None if data.set_severity is None else str(data.set_severity),
        "drop": data.drop,
        "updated_at": now,
    }


def _count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(routing_rules)).scalar_one()


def _shift(session: Session, *, first: int, last: int | None, by: int) -> None:
    """Move the rules at positions first..last (open-ended without last) by `by`."""
    where = [routing_rules.c.position >= first] + ([routing_rules.c.position <= last] if last is not None else [])
    session.execute(update(routing_rules).where(*where).values(position=routing_rules.c.position + by))


def create_rule(session: Session, *, data: RuleIn, now: datetime) -> RowMapping:
    """Insert at `position` (the rules from there move down one), or last."""
    advisory_xact_lock(session, _ORDER_LOCK)
    size = _count(session)
    position = min(data.position or size + 1, size + 1)
    _shift(session, first=position, last=None, by=1)
    row = session.execute(insert(routing_rules).values(**_values(data, now), position=position, created_at=now).returning(routing_rules))
    created = row.mappings().one()
    session.commit()
    return created


def replace_rule(session: Session, *, rule_id: UUID, data: RuleIn, now: datetime) -> RowMapping:
    """Replace the rule; a new `position` moves it there (the rules in between close up)."""
    advisory_xact_lock(session, _ORDER_LOCK)
    old = get_rule_or_raise(session, rule_id=rule_id, lock=True)["position"]
    position = min(data.position or old, _count(session))
    if position < old:
        _shift(session, first=position, last=old - 1, by=1)
    elif position > old:
        _shift(session, first=old + 1, last=position, by=-1)
    statement = update(routing_rules).where(routing_rules.c.id == rule_id).values(**_values(data, now), position=position)
    row = session.execute(statement.returning(routing_rules)).mappings().one()
    session.commit()
    return row


def delete_rule(session: Session, *, rule_id: UUID) -> None:
    advisory_xact_lock(session, _ORDER_LOCK)
    position = get_rule_or_raise(session, rule_id=rule_id, lock=True)["position"]
    session.execute(delete(routing_rules).where(routing_rules.c.id == rule_id))
    _shift(session, first=position + 1, last=None, by=-1)
    session.commit()


def list_grouping(session: Session) -> list[RowMapping]:
    return list(session.execute(select(grouping_policies).order_by(grouping_policies.c.service)).mappings())


def set_grouping(session: Session, *, service: str, data: GroupingIn, now: datetime) -> RowMapping:
    values = {"group_by": data.group_by, "window_seconds": data.window_seconds, "updated_at": now}
    statement = upsert(grouping_policies).values(service=service, **values).on_conflict_do_update(index_elements=["service"], set_=values)
    row = session.execute(statement.returning(grouping_policies)).mappings().one()
    session.commit()
    return row


def delete_grouping(session: Session, *, service: str) -> None:
    """Back to the default grouping (service + severity, CORRELATION_WINDOW_SECONDS)."""
    if session.execute(delete(grouping_policies).where(grouping_policies.c.service == service)).rowcount == 0:
        raise NotFound(f"Service {service} has no grouping of its own")
    session.commit()
