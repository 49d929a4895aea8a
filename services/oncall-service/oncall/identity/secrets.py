"""Credentials: personal API tokens, integration keys, web sessions and password login.

A secret is generated here, returned once, and stored only as its SHA-256 digest (see
`platform_common.auth.credentials`). Revoking sets `revoked_at`: the row leaves `oncall.principals`,
and every replica of every service refuses the secret once its short cache entry expires.
"""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from oncall.identity import users as users_service
from oncall.identity.passwords import hash_password, verify_password
from oncall.identity.schemas import IntegrationCreate
from oncall.identity.tables import api_tokens, integrations, login_failures, sessions, users
from platform_common.auth.credentials import digest, new_secret
from platform_common.auth.errors import Forbidden, TooManyRequests, Unauthenticated
from platform_common.auth.principal import Principal, Role
from platform_common.db import advisory_xact_lock
from platform_common.errors import NotFound

SESSION_LIFETIME = timedelta(hours=12)
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_SOURCE = 20
BOOTSTRAP_ADMIN_NAME = "Bootstrap admin"
_TOKEN_COLUMNS = (api_tokens.c.id, api_tokens.c.name, api_tokens.c.created_at, api_tokens.c.revoked_at)
_INTEGRATION_COLUMNS = [column for column in integrations.c if column.name != "secret_hash"]


def check_may_manage(principal: Principal, user_id: UUID) -> None:
    """A user manages their own tokens; admins and services manage anyone's."""
    if principal.role >= Role.admin or principal.kind == "service":
        return
    if principal.kind == "user" and principal.id == user_id:
        return
    raise Forbidden("Only the user themself or an admin may manage these tokens")


def create_token(session: Session, *, user_id: UUID, name: str, now: datetime) -> dict[str, Any]:
    users_service.get_or_raise(session, user_id=user_id)
    secret = new_secret("token")
    row = (
        session.execute(
            insert(api_tokens).values(user_id=user_id, name=name, secret_hash=digest(secret), created_at=now).returning(*_TOKEN_COLUMNS)
        )
        .mappings()
        .one()
    )
    return {**row, "token": secret}


def list_tokens(session: Session, *, user_id: UUID) -> list[RowMapping]:
    users_service.get_or_raise(session, user_id=user_id)
    return list(
        session.execute(select(*_TOKEN_COLUMNS).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.created_at)).mappings()
    )


def revoke_token(session: Session, *, user_id: UUID, token_id: UUID, now: datetime) -> None:
    found = session.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.user_id == user_id)
        .values(revoked_at=func.coalesce(api_tokens.c.revoked_at, now))
    ).rowcount
    if not found:
        raise NotFound(f"Token {token_id} of user {user_id} not found")


def create_integration(session: Session, *, data: IntegrationCreate, now: datetime) -> dict[str, Any]:
    key = new_secret("integration")
    values = {**data.model_dump(), "secret_hash": digest(key), "created_at": now}
    row = session.execute(insert(integrations).values(**values).returning(*_INTEGRATION_COLUMNS)).mappings().one()
    return {**row, "key": key}


def list_integrations(session: Session) -> list[RowMapping]:
    return list(session.execute(select(*_INTEGRATION_COLUMNS).order_by(integrations.c.created_at)).mappings())


def revoke_integration(session: Session, *, integration_id: UUID, now: datetime) -> None:
    found = session.execute(
        update(integrations).where(integrations.c.id == integration_id).values(revoked_at=func.coalesce(integrations.c.revoked_at, now))
    ).rowcount
    if not found:
        raise NotFound(f"Integration {integration_id} not found")


def _recent_failures(session: Session, *, email: str, source: str, now: datetime) -> tuple[int, int]:
    since = now - LOGIN_WINDOW
    recent = login_failures.c.at > since
    by_email = session.execute(select(func.count()).where(recent, func.lower(login_failures.c.email) == email.lower())).scalar_one()
    by_source = session.execute(select(func.count()).where(recent, login_failures.c.source == source)).scalar_one()
    return by_email, by_source


def login(session: Session, *, email: str, password: str, source: str, now: datetime) -> tuple[RowMapping, str]:
    """Check the password (argon2id) and open a session. Repeated failures for one email or from one
    address are refused with 429 before any password is checked."""
    by_email, by_source = _recent_failures(session, email=email, source=source, now=now)
    if by_email >= MAX_FAILURES_PER_EMAIL or by_source >= MAX_FAILURES_PER_SOURCE:
        raise TooManyRequests("Too many failed logins; try again later", retry_after=int(LOGIN_WINDOW.total_seconds()))
    user = users_service.get_by_email(session, email=email)
    if not verify_password(user["password_hash"] if user else None, password):
        session.execute(insert(login_failures).values(email=email[:320], source=source[:100], at=now))
        session.commit()
        raise Unauthenticated("Wrong email or password")
    session.execute(delete(login_failures).where(func.lower(login_failures.c.email) == email.lower()))
    secret = new_secret("session")
    session.execute(
        insert(sessions).values(user_id=user["id"], secret_hash=digest(secret), created_at=now, expires_at=now + SESSION_LIFETIME)
    )
    return user, secret


def logout(session: Session, *, secret: str, now: datetime) -> None:
    session.execute(
        update(sessions).where(sessions.c.secret_hash == digest(secret), sessions.c.revoked_at.is_(None)).values(revoked_at=now)
    )


def forget_old_sessions(session: Session, *, now: datetime) -> None:
    session.execute(
        delete(sessions).where(
            or_(sessions.c.expires_at < now, and_(sessions.c.revoked_at.is_not(None), sessions.c.revoked_at < now - SESSION_LIFETIME))
        )
    )
    session.execute(delete(login_failures).where(login_failures.c.at < now - LOGIN_WINDOW))


def ensure_bootstrap_admin(session: Session, *, token: str | None, email: str | None, password: str | None, now: datetime) -> None:
    """SPEC §10: an admin API token with exactly BOOTSTRAP_ADMIN_TOKEN exists; BOOTSTRAP_ADMIN_EMAIL +
    BOOTSTRAP_ADMIN_PASSWORD is an admin who can log in (created once; an existing user is left as is)."""
    if not token and not (email and password):
        return
    advisory_xact_lock(session, "identity:bootstrap")
    address = email or "admin@localhost"
    admin = users_service.get_by_email(session, email=address)
    if admin is None:
        values = {"name": BOOTSTRAP_ADMIN_NAME, "email": address, "role": "admin", "created_at": now, "updated_at": now}
        values["password_hash"] = hash_password(password) if email and password else None
        admin = session.execute(insert(users).values(**values).returning(*users.c)).mappings().one()
    if token:
        statement = pg_insert(api_tokens).values(user_id=admin["id"], name="bootstrap", secret_hash=digest(token), created_at=now)
        session.execute(statement.on_conflict_do_nothing(index_elements=[api_tokens.c.secret_hash]))
