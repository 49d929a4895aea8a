"""HTTP routes of identity and access (SPEC §10): login, users, tokens, integrations, teams, audit."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status

from oncall.identity import audit, secrets, users
from oncall.identity.schemas import (
    AuditEntry,
    IntegrationCreate,
    IntegrationCreated,
    IntegrationOut,
    Login,
    Me,
    TeamCreate,
    TeamOut,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from platform_common.auth.credentials import SESSION_COOKIE
from platform_common.auth.policy import ADMIN, IDENTIFIED, PUBLIC, VIEWER, PrincipalDep, requires
from platform_common.auth.principal import Principal
from platform_common.clock import utcnow
from platform_common.db import SessionDep
from platform_common.errors import ERROR_RESPONSES
from platform_common.pagination import TOTAL_COUNT_HEADER, PageDep
from platform_common.validation import Text

router = APIRouter(prefix="/api/v1", tags=["identity"])
_404 = {404: ERROR_RESPONSES[404]}
_409 = {409: ERROR_RESPONSES[409]}


def _me(principal: Principal) -> Me:
    return Me(id=principal.id, name=principal.name, email=principal.email, role=principal.role.name, kind=principal.kind)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


@router.post("/auth/login", response_model=Me, dependencies=[requires(PUBLIC)], responses={401: {}, 429: {}})
def login(data: Login, request: Request, response: Response, session: SessionDep) -> Me:
    """Email + password → a session cookie (HttpOnly, SameSite=Strict, Secure behind https). Repeated
    failures for one email or from one address are refused with 429."""
    source = request.client.host if request.client else "unknown"
    user, secret = secrets.login(session, email=data.email, password=data.password, source=source, now=utcnow())
    session.commit()
    max_age = int(secrets.SESSION_LIFETIME.total_seconds())
    response.set_cookie(SESSION_COOKIE, secret, max_age=max_age, path="/", httponly=True, samesite="strict", secure=_secure(request))
    return Me(id=user["id"], name=user["name"], email=user["email"], role=user["role"], kind="user")


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, dependencies=[requires(PUBLIC)])
def logout(request: Request, session: SessionDep) -> Response:
    """End the session (the cookie is cleared and the session revoked everywhere)."""
    if secret := request.cookies.get(SESSION_COOKIE):
        secrets.logout(session, secret=secret, now=utcnow())
        session.commit()
        request.app.state.credentials.forget(secret)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request))
    return response


@router.get("/auth/me", response_model=Me, dependencies=[requires(IDENTIFIED)])
def me(principal: PrincipalDep) -> Me:
    """Who the credential (or the anonymous role) stands for."""
    return _me(principal)


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED, dependencies=[requires(ADMIN)], responses=_409)
def create_user(data: UserCreate, session: SessionDep) -> UserOut:
    row = users.create(session, data=data, now=utcnow())
    session.commit()
    return UserOut.model_validate(users.public(row))


@router.get("/users", response_model=list[UserOut], dependencies=[requires(VIEWER)])
def list_users(session: SessionDep, response: Response, page: PageDep) -> list[UserOut]:
    rows, total = users.list_(session, page=page)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return [UserOut.model_validate(users.public(row)) for row in rows]


@router.get("/users/{user_id}", response_model=UserOut, dependencies=[requires(VIEWER)], responses=_404)
def get_user(user_id: UUID, session: SessionDep) -> UserOut:
    return UserOut.model_validate(users.public(users.get_or_raise(session, user_id=user_id)))


@router.patch("/users/{user_id}", response_model=UserOut, dependencies=[requires(ADMIN)], responses={**_404, **_409})
def update_user(user_id: UUID, change: UserUpdate, session: SessionDep) -> UserOut:
    row = users.update_(session, user_id=user_id, change=change, now=utcnow())
    session.commit()
    return UserOut.model_validate(users.public(row))


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[requires(ADMIN)], responses=_404)
def delete_user(user_id: UUID, session: SessionDep) -> Response:
    """Delete a user with their tokens and sessions."""
    users.delete_(session, user_id=user_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/users/{user_id}/tokens",
    response_model=TokenCreated,
    status_code=status.HTTP_201_CREATED,
    dependencies=[requires(VIEWER)],
    responses=_404,
)
def create_token(user_id: UUID, data: TokenCreate, principal: PrincipalDep, session: SessionDep) -> TokenCreated:
    """A personal API token (the user themself or an admin). The secret is in this answer only."""
    secrets.check_may_manage(principal, user_id)
    created = secrets.create_token(session, user_id=user_id, name=data.name, now=utcnow())
    session.commit()
    return TokenCreated.model_validate(created)


@router.get("/users/{user_id}/tokens", response_model=list[TokenOut], dependencies=[requires(VIEWER)], responses=_404)
def list_tokens(user_id: UUID, principal: PrincipalDep, session: SessionDep) -> list[TokenOut]:
    secrets.check_may_manage(principal, user_id)
    return [TokenOut.model_validate(row) for row in secrets.list_tokens(session, user_id=user_id)]


@router.delete(
    "/users/{user_id}/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[requires(VIEWER)], responses=_404
)
def revoke_token(user_id: UUID, token_id: UUID, principal: PrincipalDep, session: SessionDep) -> Response:
    """Revoke a token: every replica refuses it within a few seconds."""
    secrets.check_may_manage(principal, user_id)
    secrets.revoke_token(session, user_id=user_id, token_id=token_id, now=utcnow())
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/integrations", response_model=IntegrationCreated, status_code=status.HTTP_201_CREATED, dependencies=[requires(ADMIN)])
def create_integration(data: IntegrationCreate, session: SessionDep) -> IntegrationCreated:
    """An alert source's key: it may only send alerts. The key is in this answer only."""
    created = secrets.create_integration(session, data=data, now=utcnow())
    session.commit()
    return IntegrationCreated.model_validate(created)


@router.get("/integrations", response_model=list[IntegrationOut], dependencies=[requires(ADMIN)])
def list_integrations(session: SessionDep) -> list[IntegrationOut]:
    return [IntegrationOut.model_validate(row) for row in secrets.list_integrations(session)]


@router.delete("/integrations/{integration_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[requires(ADMIN)], responses=_404)
def revoke_integration(integration_id: UUID, session: SessionDep) -> Response:
    secrets.revoke_integration(session, integration_id=integration_id, now=utcnow())
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/teams", response_model=TeamOut, status_code=status.HTTP_201_CREATED, dependencies=[requires(ADMIN)], responses=_409)
def create_team(data: TeamCreate, session: SessionDep) -> TeamOut:
    team = users.create_team(session, data=data, now=utcnow())
    session.commit()
    return TeamOut.model_validate(team)


@router.get("/teams", response_model=list[TeamOut], dependencies=[requires(VIEWER)])
def list_teams(session: SessionDep) -> list[TeamOut]:
    return [TeamOut.model_validate(team) for team in users.list_teams(session)]


@router.delete("/teams/{name}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[requires(ADMIN)], responses=_404)
def delete_team(name: Text, session: SessionDep) -> Response:
    users.delete_team(session, name=name)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/audit", response_model=list[AuditEntry], dependencies=[requires(ADMIN)])
def list_audit(
    session: SessionDep, response: Response, page: PageDep, actor: Annotated[Text | None, Query(max_length=320)] = None
) -> list[AuditEntry]:
    """Every mutating request on every service, newest first (who, role, what, target, outcome)."""
    rows, total = audit.list_(session, actor=actor, page=page)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return [AuditEntry.model_validate(row) for row in rows]
