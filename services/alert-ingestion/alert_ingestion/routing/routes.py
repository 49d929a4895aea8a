"""HTTP routes of routing and noise control: routing rules (+ test), grouping, silences, maintenance windows.

Each change is applied to this replica's routing cache at once, to the others within seconds.
"""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response, status

from alert_ingestion.routing import rules, suppression
from alert_ingestion.routing.cache import to_window
from alert_ingestion.routing.decide import decide
from alert_ingestion.routing.schemas import (
    GroupingIn,
    GroupingOut,
    MaintenanceWindowIn,
    MaintenanceWindowOut,
    MatchedRule,
    RoutedAlert,
    RoutingTestIn,
    RoutingTestOut,
    RuleIn,
    RuleOut,
    SilenceIn,
    SilenceOut,
    SilenceState,
)
from alert_ingestion.routing.suppression import WindowState
from platform_common.auth.policy import ADMIN, RESPONDER, VIEWER, PrincipalDep, requires
from platform_common.clock import utcnow
from platform_common.db import SessionDep
from platform_common.errors import ERROR_RESPONSES
from platform_common.pagination import TOTAL_COUNT_HEADER, PageDep
from platform_common.validation import Text

rules_router = APIRouter(prefix="/api/v1/routing-rules", tags=["routing"])
grouping_router = APIRouter(prefix="/api/v1/grouping", tags=["routing"])
silences_router = APIRouter(prefix="/api/v1/silences", tags=["silences"])
windows_router = APIRouter(prefix="/api/v1/maintenance-windows", tags=["silences"])
routers = [rules_router, grouping_router, silences_router, windows_router]
ServiceName = Annotated[Text, Path(min_length=1, max_length=200)]
_WRITE_ERRORS = {404: ERROR_RESPONSES[404], 422: ERROR_RESPONSES[422]}


def _changed(request: Request) -> None:
    request.app.state.correlator.routing.invalidate()


# --- routing rules ------------------------------------------------------------------------------


@rules_router.get("", dependencies=[requires(VIEWER)], response_model=list[RuleOut])
def list_rules(session: SessionDep) -> list[RuleOut]:
    """Every rule, in the order they are tried (the first that matches applies)."""
    return [RuleOut.model_validate(row) for row in rules.list_rules(session)]


@rules_router.post("", dependencies=[requires(ADMIN)], response_model=RuleOut, status_code=status.HTTP_201_CREATED, responses=_WRITE_ERRORS)
def create_rule(data: RuleIn, session: SessionDep, request: Request) -> RuleOut:
    """Add a rule at `position` (the rules from there move down) or last."""
    row = rules.create_rule(session, data=data, now=utcnow())
    _changed(request)
    return RuleOut.model_validate(row)


@rules_router.post("/test", dependencies=[requires(VIEWER)], response_model=RoutingTestOut, responses={422: ERROR_RESPONSES[422]})
async def test_rules(alert: RoutingTestIn, request: Request) -> RoutingTestOut:
    """What would happen to this alert now, decided exactly as the intake decides it: the rule that
    applies, the alert it becomes, and whether it would be correlated, silenced or dropped. Nothing is stored."""
    routing = request.app.state.correlator.routing
    now = utcnow()
    decision = decide(await routing.snapshot(), alert, integration_id=alert.integration_id, at=now)
    correlates = decision.status == "pending"
    return RoutingTestOut(
        rule=None if decision.rule is None else MatchedRule.model_validate(decision.rule, from_attributes=True),
        alert=RoutedAlert.model_validate(decision.alert, from_attributes=True),
        outcome="correlate" if correlates else decision.status,
        silence_id=decision.silence_id,
        maintenance_window_id=decision.maintenance_window_id,
        group_key=decision.group_key,
        window_seconds=decision.window_seconds if correlates else None,
    )


@rules_router.get("/{rule_id}", dependencies=[requires(VIEWER)], response_model=RuleOut, responses={404: ERROR_RESPONSES[404]})
def get_rule(rule_id: UUID, session: SessionDep) -> RuleOut:
    return RuleOut.model_validate(rules.get_rule_or_raise(session, rule_id=rule_id))


@rules_router.put("/{rule_id}", dependencies=[requires(ADMIN)], response_model=RuleOut, responses=_WRITE_ERRORS)
def replace_rule(rule_id: UUID, data: RuleIn, session: SessionDep, request: Request) -> RuleOut:
    """Replace the rule; a `position` moves it there."""
    row = rules.replace_rule(session, rule_id=rule_id, data=data, now=utcnow())
    _changed(request)
    return RuleOut.model_validate(row)


@rules_router.delete(
    "/{rule_id}", dependencies=[requires(ADMIN)], status_code=status.HTTP_204_NO_CONTENT, responses={404: ERROR_RESPONSES[404]}
)
def delete_rule(rule_id: UUID, session: SessionDep, request: Request) -> Response:
    rules.delete_rule(session, rule_id=rule_id)
    _changed(request)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- grouping -----------------------------------------------------------------------------------


@grouping_router.get("", dependencies=[requires(VIEWER)], response_model=list[GroupingOut])
def list_grouping(session: SessionDep) -> list[GroupingOut]:
    """Services with a grouping of their own; every other one groups by service + severity."""
    return [GroupingOut.model_validate(row) for row in rules.list_grouping(session)]


@grouping_router.put("/{service}", dependencies=[requires(ADMIN)], response_model=GroupingOut, responses={422: ERROR_RESPONSES[422]})
def set_grouping(service: ServiceName, data: GroupingIn, session: SessionDep, request: Request) -> GroupingOut:
    """Group the service's alerts by service + severity + these labels, within this window."""
    row = rules.set_grouping(session, service=service, data=data, now=utcnow())
    _changed(request)
    return GroupingOut.model_validate(row)


@grouping_router.delete(
    "/{service}", dependencies=[requires(ADMIN)], status_code=status.HTTP_204_NO_CONTENT, responses={404: ERROR_RESPONSES[404]}
)
def delete_grouping(service: ServiceName, session: SessionDep, request: Request) -> Response:
    rules.delete_grouping(session, service=service)
    _changed(request)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- silences -----------------------------------------------------------------------------------


def _silence(row, now) -> SilenceOut:
    return SilenceOut.model_validate({**row, "state": suppression.silence_state(row, now)})


@silences_router.post(
    "", dependencies=[requires(RESPONDER)], response_model=SilenceOut, status_code=status.HTTP_201_CREATED, responses=_WRITE_ERRORS
)
def create_silence(data: SilenceIn, session: SessionDep, request: Request, principal: PrincipalDep) -> SilenceOut:
    """Silence matching alerts from `starts_at` (default now) to `ends_at`: they are stored as
    `silenced` and open or page nothing. `created_by` is the caller."""
    now = utcnow()
    row = suppression.create_silence(session, data=data, created_by=principal.actor(), now=now)
    _changed(request)
    return _silence(row, now)


@silences_router.get("", dependencies=[requires(VIEWER)], response_model=list[SilenceOut])
def list_silences(
    session: SessionDep, response: Response, page: PageDep, state: Annotated[SilenceState | None, Query()] = None
) -> list[SilenceOut]:
    """Newest first; `state`: active, pending (starts later) or expired."""
    now = utcnow()
    rows, total = suppression.list_silences(session, state=state, now=now, page=page)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return [_silence(row, now) for row in rows]


@silences_router.get("/{silence_id}", dependencies=[requires(VIEWER)], response_model=SilenceOut, responses={404: ERROR_RESPONSES[404]})
def get_silence(silence_id: UUID, session: SessionDep) -> SilenceOut:
    return _silence(suppression.get_silence_or_raise(session, silence_id=silence_id), utcnow())


@silences_router.delete(
    "/{silence_id}", dependencies=[requires(RESPONDER)], response_model=SilenceOut, responses={404: ERROR_RESPONSES[404]}
)
def expire_silence(silence_id: UUID, session: SessionDep, request: Request) -> SilenceOut:
    """Expire the silence now (it stays listed, expired); the next matching alert is handled as usual."""
    now = utcnow()
    row = suppression.expire_silence(session, silence_id=silence_id, now=now)
    _changed(request)
    return _silence(row, now)


# --- maintenance windows ------------------------------------------------------------------------


def _window(row, now) -> MaintenanceWindowOut:
    return MaintenanceWindowOut.model_validate({**suppression.window_out(row), "active": to_window(row).active(now)})


@windows_router.post(
    "",
    dependencies=[requires(RESPONDER)],
    response_model=MaintenanceWindowOut,
    status_code=status.HTTP_201_CREATED,
    responses=_WRITE_ERRORS,
)
def create_window(data: MaintenanceWindowIn, session: SessionDep, request: Request, principal: PrincipalDep) -> MaintenanceWindowOut:
    """A maintenance window for a service, one-off or weekly: while it is on, the service's alerts are
    stored as `silenced` and open or page nothing."""
    now = utcnow()
    row = suppression.create_window(session, data=data, created_by=principal.actor(), now=now)
    _changed(request)
    return _window(row, now)


@windows_router.get("", dependencies=[requires(VIEWER)], response_model=list[MaintenanceWindowOut])
def list_windows(
    session: SessionDep,
    response: Response,
    page: PageDep,
    service: Annotated[Text | None, Query(max_length=200)] = None,
    state: Annotated[WindowState | None, Query()] = None,
) -> list[MaintenanceWindowOut]:
    """Newest first; `state`: current (not over) or ended."""
    now = utcnow()
    rows, total = suppression.list_windows(session, service=service, state=state, now=now, page=page)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return [_window(row, now) for row in rows]


@windows_router.delete(
    "/{window_id}", dependencies=[requires(RESPONDER)], response_model=MaintenanceWindowOut, responses={404: ERROR_RESPONSES[404]}
)
def end_window(window_id: UUID, session: SessionDep, request: Request) -> MaintenanceWindowOut:
    """End the window now (a weekly one stops recurring); it stays listed, ended."""
    now = utcnow()
    row = suppression.end_window(session, window_id=window_id, now=now)
    _changed(request)
    return _window(row, now)
