"""HTTP routes of oncall-service: thin handlers over `service` (schedules) and the escalation engine."""

from datetime import datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response, status
from pydantic import StringConstraints

from oncall import rotation, service
from oncall.schemas import (
    EscalateRequest,
    EscalationOut,
    OnCallOut,
    OverrideCreate,
    OverrideOut,
    PersonOut,
    ScheduleCreate,
    ScheduleFields,
    ScheduleOut,
    ScheduleReplace,
    ShiftOut,
    in_rotation_range,
)
from platform_common.auth.policy import ADMIN, RESPONDER, VIEWER, requires
from platform_common.clock import utcnow
from platform_common.db import ReadSessionDep, SessionDep
from platform_common.errors import ERROR_RESPONSES
from platform_common.pagination import TOTAL_COUNT_HEADER, PageDep
from platform_common.validation import Text, Timestamp

router = APIRouter(prefix="/api/v1", tags=["on-call"])
_404 = {404: ERROR_RESPONSES[404]}
TeamName = Annotated[Text, StringConstraints(min_length=1, max_length=200)]
Team = Annotated[TeamName, Query(description="Team name (the incident's service)")]
MAX_TEAMS = 200  # teams one /oncall request may ask for
TeamPath = Annotated[Text, Path(description="Team name")]
MAX_SHIFT_WINDOW = timedelta(days=366)


def _person(person: rotation.Person) -> PersonOut:
    return PersonOut(name=person.name, email=person.email)


def _on_call(team: str, shift: rotation.Shift) -> OnCallOut:
    return OnCallOut(
        team=team,
        primary=_person(shift.primary),
        secondary=_person(shift.secondary),
        shift_start=shift.start,
        shift_end=shift.end,
        overridden=shift.overridden,
    )


@router.post(
    "/schedules",
    dependencies=[requires(ADMIN)],
    response_model=ScheduleOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: ERROR_RESPONSES[409]},
)
def create_schedule(data: ScheduleCreate, session: SessionDep) -> ScheduleOut:
    """A team's rotation: primary = whose turn it is, secondary = the next member. 409 if the team has one."""
    schedule = service.create(session, data=data, now=utcnow())
    session.commit()
    return ScheduleOut.model_validate(schedule)


@router.get("/schedules", dependencies=[requires(VIEWER)], response_model=list[ScheduleOut])
def list_schedules(session: SessionDep, response: Response, page: PageDep) -> list[ScheduleOut]:
    """Every team's schedule, by team name; total in X-Total-Count."""
    rows, total = service.list_(session, page=page)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return [ScheduleOut.model_validate(row) for row in rows]


@router.get("/schedules/{team}", dependencies=[requires(VIEWER)], response_model=ScheduleOut, responses=_404)
def get_schedule(team: TeamPath, session: SessionDep) -> ScheduleOut:
    return ScheduleOut.model_validate(service.get_or_raise(session, team=team))


@router.put("/schedules/{team}", dependencies=[requires(ADMIN)], response_model=ScheduleOut, responses=_404)
def replace_schedule(team: TeamPath, data: ScheduleReplace, session: SessionDep) -> ScheduleOut:
    """Replace the schedule. Omitting `start` keeps the current rotation start."""
    if data.team is not None and data.team != team:
        raise service.invalid("team", "must match the team in the path (a team cannot be renamed)")
    kept = {"team"} if "start" in data.model_fields_set else {"team", "start"}
    change = ScheduleFields.model_validate(data.model_dump(exclude=kept))
    schedule = service.update_(session, team=team, change=change, now=utcnow())
    session.commit()
    return ScheduleOut.model_validate(schedule)


@router.patch("/schedules/{team}", dependencies=[requires(ADMIN)], response_model=ScheduleOut, responses=_404)
def update_schedule(team: TeamPath, change: ScheduleFields, session: SessionDep) -> ScheduleOut:
    """Change some fields (e.g. members or escalation_minutes); the rest stay as they are."""
    schedule = service.update_(session, team=team, change=change, now=utcnow())
    session.commit()
    return ScheduleOut.model_validate(schedule)


@router.delete("/schedules/{team}", dependencies=[requires(ADMIN)], status_code=status.HTTP_204_NO_CONTENT, responses=_404)
def delete_schedule(team: TeamPath, session: SessionDep) -> Response:
    """Delete the schedule and its overrides (running escalations keep their frozen policy)."""
    service.delete_(session, team=team)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/schedules/{team}/overrides",
    dependencies=[requires(RESPONDER)],
    response_model=OverrideOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_404, 409: ERROR_RESPONSES[409]},
)
def add_override(team: TeamPath, data: OverrideCreate, session: SessionDep) -> OverrideOut:
    """Someone covers the primary's place for [start, end); overlapping an existing override → 409."""
    override = service.add_override(session, team=team, data=data, now=utcnow())
    session.commit()
    return OverrideOut.model_validate(override)


@router.get("/schedules/{team}/overrides", dependencies=[requires(VIEWER)], response_model=list[OverrideOut], responses=_404)
def list_overrides(
    team: TeamPath,
    session: SessionDep,
    response: Response,
    page: PageDep,
    include_past: Annotated[bool, Query(description="Also list overrides that have ended")] = False,
) -> list[OverrideOut]:
    rows, total = service.list_overrides(session, team=team, since=None if include_past else utcnow(), page=page)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return [OverrideOut.model_validate(row) for row in rows]


@router.delete(
    "/schedules/{team}/overrides/{override_id}", dependencies=[requires(RESPONDER)], status_code=status.HTTP_204_NO_CONTENT, responses=_404
)
def delete_override(team: TeamPath, override_id: UUID, session: SessionDep) -> Response:
    service.delete_override(session, team=team, override_id=override_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/schedules/{team}/shifts", dependencies=[requires(VIEWER)], response_model=list[ShiftOut], responses=_404)
def list_shifts(
    team: TeamPath,
    session: SessionDep,
    since: Annotated[Timestamp | None, Query(alias="from", description="Default: now")] = None,
    until: Annotated[Timestamp | None, Query(description="Default: 14 days after 'from'; at most 366 days after it")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ShiftOut]:
    """Upcoming stretches (from the one containing `from`): who is primary and secondary, overrides applied."""
    since = _aware(since, "from") or utcnow()
    until = _aware(until, "until") or since + timedelta(days=14)
    if until - since > MAX_SHIFT_WINDOW:
        raise service.invalid("until", "at most 366 days after 'from'")
    shifts = service.upcoming(session, team=team, since=since, until=until, limit=limit)
    return [
        ShiftOut(start=s.start, end=s.end, primary=_person(s.primary), secondary=_person(s.secondary), overridden=s.overridden)
        for s in shifts
    ]


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise service.invalid(field, "needs a UTC offset, e.g. Z")
    try:
        in_rotation_range(value)
    except ValueError as exc:
        raise service.invalid(field, str(exc)) from None
    return value


@router.get("/oncall/current", dependencies=[requires(VIEWER)], response_model=OnCallOut, responses=_404)
def current_oncall(team: Team, session: ReadSessionDep) -> OnCallOut:
    """Who is on call for the team now; 404 when the team has no schedule."""
    return _on_call(team, service.current(session, team=team, now=utcnow()))


@router.get("/oncall", dependencies=[requires(VIEWER)], response_model=list[OnCallOut])
def all_oncall(
    session: ReadSessionDep,
    team: Annotated[
        list[TeamName] | None,
        Query(max_length=MAX_TEAMS, description="Only these teams (repeatable, at most 200); a team without a schedule is absent"),
    ] = None,
) -> list[OnCallOut]:
    """Who is on call now, for every team (or the teams asked), by team name: each as /oncall/current answers it."""
    return [_on_call(name, shift) for name, shift in service.all_current(session, now=utcnow(), teams=team)]


@router.post(
    "/escalate",
    dependencies=[requires(RESPONDER)],
    response_model=EscalationOut,
    status_code=status.HTTP_201_CREATED,
    responses={**_404, 409: ERROR_RESPONSES[409], 503: ERROR_RESPONSES[503]},
)
def escalate(data: EscalateRequest, request: Request) -> EscalationOut:
    """Escalate an incident to its next level now: page that person, record it on the timeline.

    `status` is `paged` when delivered, `pending` when a peer is down (the engine retries).
    409 when the incident is resolved, its team has no schedule, or the last level was reached.
    """
    row = request.app.state.escalation_engine.escalate_now(data.incident_id, data.reason)
    return EscalationOut.model_validate(row)


@router.get("/escalations", dependencies=[requires(VIEWER)], response_model=list[EscalationOut])
def list_escalations(
    session: SessionDep,
    response: Response,
    page: PageDep,
    incident_id: UUID | None = None,
    team: Annotated[Text | None, Query(max_length=200)] = None,
) -> list[EscalationOut]:
    """Escalations, newest first, filtered by incident or team; total in X-Total-Count."""
    rows, total = service.list_escalations(session, incident_id=incident_id, team=team, page=page)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return [EscalationOut.model_validate(row) for row in rows]
