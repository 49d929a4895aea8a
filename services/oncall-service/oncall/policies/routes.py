"""HTTP routes of escalation policies (SPEC §12): admins write, viewers read."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from oncall.policies import service
from oncall.policies.schemas import PolicyIn, PolicyOut
from platform_common.auth.policy import ADMIN, VIEWER, requires
from platform_common.clock import utcnow
from platform_common.db import SessionDep
from platform_common.errors import ERROR_RESPONSES
from platform_common.pagination import TOTAL_COUNT_HEADER, PageDep
from platform_common.validation import Text

router = APIRouter(prefix="/api/v1", tags=["escalation policies"])
_404 = {404: ERROR_RESPONSES[404]}
_409 = {409: ERROR_RESPONSES[409]}


@router.post(
    "/escalation-policies", dependencies=[requires(ADMIN)], response_model=PolicyOut, status_code=status.HTTP_201_CREATED, responses=_409
)
def create_policy(data: PolicyIn, session: SessionDep) -> PolicyOut:
    """Steps with a delay and targets, run `repeat` more times; with `team`, it pages that team's incidents
    instead of the schedule's primary → secondary → levels. 409: the name, or the team, has a policy."""
    row = service.create(session, data=data, now=utcnow())
    session.commit()
    return PolicyOut.model_validate(row)


@router.get("/escalation-policies", dependencies=[requires(VIEWER)], response_model=list[PolicyOut])
def list_policies(
    session: SessionDep,
    response: Response,
    page: PageDep,
    team: Annotated[Text | None, Query(max_length=200, description="Only the policy governing this team")] = None,
) -> list[PolicyOut]:
    """Policies by name; total in X-Total-Count."""
    rows, total = service.list_(session, team=team, page=page)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return [PolicyOut.model_validate(row) for row in rows]


@router.get("/escalation-policies/{policy_id}", dependencies=[requires(VIEWER)], response_model=PolicyOut, responses=_404)
def get_policy(policy_id: UUID, session: SessionDep) -> PolicyOut:
    return PolicyOut.model_validate(service.get_or_raise(session, policy_id=policy_id))


@router.put("/escalation-policies/{policy_id}", dependencies=[requires(ADMIN)], response_model=PolicyOut, responses={**_404, **_409})
def replace_policy(policy_id: UUID, data: PolicyIn, session: SessionDep) -> PolicyOut:
    """Replace the policy; running escalations keep the copy frozen at their first step."""
    row = service.replace(session, policy_id=policy_id, data=data, now=utcnow())
    session.commit()
    return PolicyOut.model_validate(row)


@router.delete("/escalation-policies/{policy_id}", dependencies=[requires(ADMIN)], status_code=status.HTTP_204_NO_CONTENT, responses=_404)
def delete_policy(policy_id: UUID, session: SessionDep) -> Response:
    """Delete the policy: the team falls back to its schedule; running escalations keep their frozen copy."""
    service.delete_(session, policy_id=policy_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
