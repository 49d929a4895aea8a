"""What each route requires, declared on the route: `dependencies=[requires(RESPONDER)]`.

Deny by default: `check_declared` (called when the app is built) refuses to build an app with a route
that declares no policy, so an undeclared route can never be served. Handlers that need the caller take
`PrincipalDep`; where data is scoped (a user's own tokens) the service layer checks again.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute, iter_route_contexts

from platform_common.auth.errors import Forbidden, Unauthenticated
from platform_common.auth.principal import Principal, Role


@dataclass(frozen=True)
class Policy:
    name: str
    allows: Callable[[Principal], bool]
    description: str


def _person_at_least(role: Role) -> Callable[[Principal], bool]:
    """Users and anonymous callers by role; a peer service may do what an admin may."""
    return lambda p: p.kind == "service" or (p.kind in ("user", "anonymous") and p.role >= role)


PUBLIC = Policy("public", lambda p: True, "anyone, no credential needed")
IDENTIFIED = Policy("identified", lambda p: p.kind != "anonymous" or p.role > Role.none, "any valid credential")
VIEWER = Policy("viewer", _person_at_least(Role.viewer), "viewer, responder, admin or a service")
RESPONDER = Policy("responder", _person_at_least(Role.responder), "responder, admin or a service")
ADMIN = Policy("admin", _person_at_least(Role.admin), "admin or a service")
INTERNAL = Policy("internal", _person_at_least(Role.admin), "a service credential or an admin (routes only services call)")
INGEST = Policy(
    "ingest",
    lambda p: p.kind in ("integration", "service") or (p.kind in ("user", "anonymous") and p.role >= Role.responder),
    "an integration key, a responder, an admin or a service",
)
POLICIES = (PUBLIC, IDENTIFIED, VIEWER, RESPONDER, ADMIN, INTERNAL, INGEST)


async def current_principal(request: Request) -> Principal:
    """The caller, resolved once per request (cached on the request) by the app's resolver."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        principal = await request.app.state.credentials.resolve(request)
        request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def requires(policy: Policy) -> DependsParam:
    async def check(request: Request) -> None:
        if policy is PUBLIC:
            return
        principal = await current_principal(request)
        if not policy.allows(principal):
            if principal.kind == "anonymous":
                raise Unauthenticated("Credentials required")
            raise Forbidden(f"This needs {policy.description}")

    check.policy = policy  # type: ignore[attr-defined]
    return Depends(check)


def _declared_check(dependant: Dependant | None) -> Callable[[Request], Awaitable[None]] | None:
    """The check of the policy the route declares (`requires(...)`), if it declares one."""
    for dependency in dependant.dependencies if dependant is not None else ():
        if getattr(dependency.call, "policy", None) is not None:
            return dependency.call
    return None


def _declared(dependant: Dependant | None) -> Policy | None:
    check = _declared_check(dependant)
    return None if check is None else check.policy  # type: ignore[attr-defined]


def route_policies(app: FastAPI) -> dict[tuple[str, str], Policy | None]:
    """(method, path template) → the declared policy (None when a route declares none). Routes of included
    routers are seen with the dependencies their inclusion adds (`iter_route_contexts`)."""
    return {
        (method, context.path): _declared(context.dependant)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        for method in sorted(context.methods)
    }


def declared_check(app: FastAPI, method: str, path: str) -> Callable[[Request], Awaitable[None]]:
    """The check that the policy declared for `method path` runs (`requires(...)`), to run it where
    FastAPI's dependency resolution does not (RuntimeError when no such route declares a policy)."""
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.path == path and method in context.methods:
            if (check := _declared_check(context.dependant)) is not None:
                return check
    raise RuntimeError(f"{method} {path}: no such route with a declared access policy")


def check_declared(app: FastAPI) -> None:
    undeclared = sorted(f"{method} {path}" for (method, path), policy in route_policies(app).items() if policy is None)
    if undeclared:
        raise RuntimeError(f"routes without a declared access policy (deny by default): {', '.join(undeclared)}")
