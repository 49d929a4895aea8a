"""HTTP routes of people (SPEC §12): a user's contact methods, notification rules and test pages (the
user themself or an admin, like tokens), and the delivery plan paging asks for (services only).

notification-service is asked (whether it takes an address; a test page) before the database is
touched, so no connection is held across the call."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status

from oncall.identity.secrets import check_may_manage
from oncall.people import notifier
from oncall.people import service as people
from oncall.people.schemas import (
    ContactMethodCreate,
    ContactMethodOut,
    DeliveryPlan,
    EmailDeliveryPlan,
    NotificationRuleCreate,
    NotificationRuleOut,
    TestPageOut,
)
from platform_common.auth.policy import INTERNAL, VIEWER, PrincipalDep, requires
from platform_common.clock import utcnow
from platform_common.db import ReadSessionDep, SessionDep
from platform_common.errors import ERROR_RESPONSES
from platform_common.recipients import EmailAddress

router = APIRouter(prefix="/api/v1", tags=["people"])
_404 = {404: ERROR_RESPONSES[404]}
_409 = {409: ERROR_RESPONSES[409]}
_503 = {503: ERROR_RESPONSES[503]}
MAX_EMAILS = 200  # people one /people/delivery-plans request may ask about
# 200 addresses of the longest kind fill more than the 64 KiB request line the HTTP server reads (uvicorn
# answers it, before the app, in plain text); everyday addresses fit hundreds of times over.
_LINE_TOO_LONG = {
    400: {"description": "Request line over 64 KiB: ask in smaller batches", "content": {"text/plain": {"schema": {"type": "string"}}}}
}


@router.post(
    "/users/{user_id}/contact-methods",
    response_model=ContactMethodOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[requires(VIEWER)],
    responses={**_404, **_409, **_503},
)
def create_contact_method(
    user_id: UUID, data: ContactMethodCreate, principal: PrincipalDep, request: Request, session: SessionDep
) -> ContactMethodOut:
    """An email address, webhook URL or Apprise URL to page the user on; notification-service checks it
    as it would check a page (an address it would refuse is 422, nothing stored)."""
    check_may_manage(principal, user_id)
    notifier.check_address(request.app.state.notifier, channel=data.type, address=data.address)
    row = people.create_contact_method(session, user_id=user_id, data=data, now=utcnow())
    session.commit()
    return ContactMethodOut.model_validate(row)


@router.get("/users/{user_id}/contact-methods", response_model=list[ContactMethodOut], dependencies=[requires(VIEWER)], responses=_404)
def list_contact_methods(user_id: UUID, principal: PrincipalDep, session: SessionDep) -> list[ContactMethodOut]:
    check_may_manage(principal, user_id)
    return [ContactMethodOut.model_validate(row) for row in people.list_contact_methods(session, user_id=user_id)]


@router.delete(
    "/users/{user_id}/contact-methods/{contact_method_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[requires(VIEWER)],
    responses=_404,
)
def delete_contact_method(user_id: UUID, contact_method_id: UUID, principal: PrincipalDep, session: SessionDep) -> Response:
    """Delete a contact method and its notification rules."""
    check_may_manage(principal, user_id)
    people.delete_contact_method(session, user_id=user_id, contact_method_id=contact_method_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/users/{user_id}/contact-methods/{contact_method_id}/test",
    response_model=TestPageOut,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[requires(VIEWER)],
    responses={**_404, **_503},
)
def send_test_page(user_id: UUID, contact_method_id: UUID, principal: PrincipalDep, request: Request, session: SessionDep) -> TestPageOut:
    """Send me a test page: one notification to this contact method, delivered by notification-service
    (follow it with GET notification-service /api/v1/notifications/{notification_id})."""
    check_may_manage(principal, user_id)
    method = people.get_contact_method(session, user_id=user_id, contact_method_id=contact_method_id)
    name = people.find_user(session, user_id=user_id)["name"]
    session.rollback()  # nothing written: no connection held while notification-service is asked
    sent = notifier.send_test_page(request.app.state.notifier, name=name, channel=method["type"], address=method["address"])
    return TestPageOut(notification_id=sent["id"], status=sent["status"], channel=sent["channel"], recipient=sent["recipient"])


@router.post(
    "/users/{user_id}/notification-rules",
    response_model=NotificationRuleOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[requires(VIEWER)],
    responses={**_404, **_409},
)
def create_rule(user_id: UUID, data: NotificationRuleCreate, principal: PrincipalDep, session: SessionDep) -> NotificationRuleOut:
    """Notify on this contact method `delay_minutes` after a page starts. Once a user has rules, only
    they are followed; without rules every contact method is notified at once."""
    check_may_manage(principal, user_id)
    row = people.create_rule(session, user_id=user_id, data=data, now=utcnow())
    session.commit()
    return NotificationRuleOut.model_validate(row)


@router.get(
    "/users/{user_id}/notification-rules", response_model=list[NotificationRuleOut], dependencies=[requires(VIEWER)], responses=_404
)
def list_rules(user_id: UUID, principal: PrincipalDep, session: SessionDep) -> list[NotificationRuleOut]:
    check_may_manage(principal, user_id)
    return [NotificationRuleOut.model_validate(row) for row in people.list_rules(session, user_id=user_id)]


@router.delete(
    "/users/{user_id}/notification-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[requires(VIEWER)], responses=_404
)
def delete_rule(user_id: UUID, rule_id: UUID, principal: PrincipalDep, session: SessionDep) -> Response:
    check_may_manage(principal, user_id)
    people.delete_rule(session, user_id=user_id, rule_id=rule_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/people/delivery-plan", response_model=DeliveryPlan, dependencies=[requires(INTERNAL)])
def delivery_plan(
    session: ReadSessionDep, user_id: UUID | None = None, email: Annotated[EmailAddress | None, Query()] = None
) -> DeliveryPlan:
    """How to page a person, by user id or email: one step per notification rule (or every contact
    method at once). Not a user, or no contact methods: an empty plan (page on PAGE_CHANNELS)."""
    return DeliveryPlan.model_validate(people.delivery_plan(session, user_id=user_id, email=email))


@router.get("/people/delivery-plans", response_model=list[EmailDeliveryPlan], dependencies=[requires(INTERNAL)], responses=_LINE_TOO_LONG)
def delivery_plans(
    session: ReadSessionDep,
    email: Annotated[list[EmailAddress], Query(min_length=1, max_length=MAX_EMAILS, description="Repeatable, at most 200")],
) -> list[EmailDeliveryPlan]:
    """/people/delivery-plan for many people at once: one entry per email, in the order asked."""
    return [EmailDeliveryPlan.model_validate(found) for found in people.delivery_plans(session, emails=email)]
