"""Heartbeats: create, read, delete, and a ping (who may ping is checked here, see `_authorize`).

A ping and the monitor's claim of a miss both lock the heartbeat's row, so they never cross: a miss is
claimed only while no ping is being recorded, and a ping after it resolves the miss's alert. The alert
is resolved after the ping is committed, and every ping resolves whatever miss alert is firing, so a
ping whose resolution was interrupted is made good by the next one.
"""

import hmac
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alert_ingestion.heartbeats.schemas import HeartbeatIn
from alert_ingestion.heartbeats.state import due_at, state_at
from alert_ingestion.heartbeats.tables import heartbeats
from alert_ingestion.resolution import mark_resolved
from alert_ingestion.tables import alerts
from platform_common.auth.credentials import digest, new_secret
from platform_common.auth.errors import Forbidden, Unauthenticated
from platform_common.auth.policy import INGEST
from platform_common.auth.principal import Principal
from platform_common.errors import Conflict, NotFound
from platform_common.pagination import Page, count_total

SOURCE = "heartbeat"  # the missed alerts' source; their fingerprint is the heartbeat's id
_VIEW = select(heartbeats, alerts.c.incident_id).outerjoin(alerts, alerts.c.id == heartbeats.c.alert_id)


def _out(row, now: datetime) -> dict:
    state = state_at(due=row.due_at, grace_seconds=row.grace_seconds, down_since=row.down_since, now=now)
    return {**row._mapping, "state": state}


def create(session: Session, *, data: HeartbeatIn, now: datetime) -> tuple[dict, str]:
    """The new heartbeat and its ping secret (returned only here; only its digest is stored). Its first
    ping is due one interval (+ grace) after creation."""
    secret = new_secret("ping")
    values = data.model_dump() | {"severity": str(data.severity), "secret_hash": digest(secret), "created_at": now}
    values["due_at"] = due_at(now, interval_seconds=data.interval_seconds, grace_seconds=data.grace_seconds)
    try:
        heartbeat_id = session.execute(insert(heartbeats).values(values).returning(heartbeats.c.id)).scalar_one()
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"A heartbeat named {data.name!r} already exists") from None
    return get_or_raise(session, heartbeat_id=heartbeat_id, now=now), secret


def get_or_raise(session: Session, *, heartbeat_id: UUID, now: datetime) -> dict:
    row = session.execute(_VIEW.where(heartbeats.c.id == heartbeat_id)).first()
    if row is None:
        raise NotFound(f"Heartbeat {heartbeat_id} not found")
    return _out(row, now)


def list_(session: Session, *, page: Page, now: datetime) -> tuple[list[dict], int]:
    total = count_total(session, select(heartbeats), page)
    rows = session.execute(_VIEW.order_by(heartbeats.c.name).limit(page.limit).offset(page.offset)).all()
    return [_out(row, now) for row in rows], total


def delete_(session: Session, *, heartbeat_id: UUID, now: datetime) -> int:
    """Delete it; a miss alert still firing is resolved (nothing will ping it again). Returns how many
    alerts that resolved (0 or 1)."""
    if session.execute(delete(heartbeats).where(heartbeats.c.id == heartbeat_id)).rowcount == 0:
        raise NotFound(f"Heartbeat {heartbeat_id} not found")
    session.commit()
    return mark_resolved(session.get_bind(), source=SOURCE, fingerprint=str(heartbeat_id), resolved_at=now)


def _authorize(heartbeat, *, token: str | None, principal: Principal | None) -> None:
    """The ping URL's own secret, or a caller the ingest policy admits (an integration key, a responder,
    an admin, a peer service); an integration bound to a service pings only that service's heartbeats."""
    if token is not None:
        if not hmac.compare_digest(digest(token), heartbeat.secret_hash):
            raise Unauthenticated("Invalid ping token")
        return
    if principal is None or not INGEST.allows(principal):
        if principal is None or principal.kind == "anonymous":
            raise Unauthenticated("Ping with the ping URL (its token) or an integration key")
        raise Forbidden(f"This needs the ping URL's token or {INGEST.description}")
    if principal.kind == "integration" and principal.service not in (None, heartbeat.service):
        raise Forbidden(f"This integration key sends for service {principal.service!r} only")


def ping(session: Session, *, heartbeat_id: UUID, token: str | None, principal: Principal | None, now: datetime) -> tuple[dict, int]:
    """Record a ping: the heartbeat is up again and due one interval (+ grace) from now; its miss alert,
    if one is firing, is resolved. Returns the heartbeat and how many alerts that resolved (0 or 1)."""
    heartbeat = session.execute(select(heartbeats).where(heartbeats.c.id == heartbeat_id).with_for_update()).first()
    if heartbeat is None:
        raise NotFound(f"Heartbeat {heartbeat_id} not found")
    _authorize(heartbeat, token=token, principal=principal)
    due = due_at(now, interval_seconds=heartbeat.interval_seconds, grace_seconds=heartbeat.grace_seconds)
    session.execute(
        update(heartbeats).where(heartbeats.c.id == heartbeat_id).values(last_ping_at=now, due_at=due, down_since=None, alert_id=None)
    )
    session.commit()
    resolved = mark_resolved(session.get_bind(), source=SOURCE, fingerprint=str(heartbeat_id), resolved_at=now)
    return get_or_raise(session, heartbeat_id=heartbeat_id, now=now), resolved
