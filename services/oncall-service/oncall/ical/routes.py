"""HTTP routes of the iCal feeds: thin handlers over `oncall.ical.service`.

The feeds are declared PUBLIC because a calendar client sends no credential: the secret in the URL's
`?token=` is checked in the handler (missing, wrong or unknown → 404). Creating a feed URL needs an
admin (a team's feed) or the user themself or an admin (a user's feed); it is shown once.
"""

from typing import Annotated
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response, status

from oncall.ical import calendar
from oncall.ical import service as feeds
from oncall.ical.schemas import FeedUrl
from platform_common.auth.policy import ADMIN, PUBLIC, VIEWER, PrincipalDep, requires
from platform_common.clock import utcnow
from platform_common.db import SessionDep
from platform_common.errors import ERROR_RESPONSES
from platform_common.validation import Text

router = APIRouter(prefix="/api/v1", tags=["ical"])
_404 = {404: ERROR_RESPONSES[404]}
_FEED = {200: {"content": {"text/calendar": {}}, "description": "An RFC 5545 calendar"}, **_404}
TeamPath = Annotated[Text, Path(description="Team name")]
FeedSecret = Annotated[str | None, Query(alias="token", description="The feed's secret, as in the URL it was created with")]


def _calendar(body: bytes) -> Response:
    headers = {"Cache-Control": "private, no-store", "Content-Disposition": 'inline; filename="oncall.ics"'}
    return Response(body, media_type=calendar.MEDIA_TYPE, headers=headers)


def _feed_url(request: Request, path: str, secret: str) -> FeedUrl:
    base = (request.app.state.settings.public_url or str(request.base_url)).rstrip("/")
    return FeedUrl(url=f"{base}{router.prefix}{path}?token={secret}")


@router.get("/schedules/{team}/ical", dependencies=[requires(PUBLIC)], response_class=Response, responses=_FEED)
def schedule_feed(team: TeamPath, session: SessionDep, secret: FeedSecret = None) -> Response:
    """The team's shifts from 7 days ago to 60 days ahead as an iCalendar feed (the secret URL only)."""
    return _calendar(feeds.schedule_feed(session, team=team, secret=secret, now=utcnow()))


@router.post(
    "/schedules/{team}/ical-token",
    dependencies=[requires(ADMIN)],
    response_model=FeedUrl,
    status_code=status.HTTP_201_CREATED,
    responses=_404,
)
def rotate_schedule_feed(team: TeamPath, request: Request, session: SessionDep) -> FeedUrl:
    """A new secret URL for the team's feed; the previous URL stops working."""
    secret = feeds.rotate_schedule_secret(session, team=team, now=utcnow())
    session.commit()
    return _feed_url(request, f"/schedules/{quote(team, safe='')}/ical", secret)


@router.get("/users/{user_id}/ical", dependencies=[requires(PUBLIC)], response_class=Response, responses=_FEED)
def user_feed(user_id: UUID, session: SessionDep, secret: FeedSecret = None) -> Response:
    """The stretches in which the user is primary, in every schedule, 7 days ago to 60 days ahead."""
    return _calendar(feeds.user_feed(session, user_id=user_id, secret=secret, now=utcnow()))


@router.post(
    "/users/{user_id}/ical-token",
    dependencies=[requires(VIEWER)],
    response_model=FeedUrl,
    status_code=status.HTTP_201_CREATED,
    responses=_404,
)
def rotate_user_feed(user_id: UUID, principal: PrincipalDep, request: Request, session: SessionDep) -> FeedUrl:
    """A new secret URL for the user's feed (the user themself or an admin); the previous URL stops working."""
    secret = feeds.rotate_user_secret(session, principal=principal, user_id=user_id, now=utcnow())
    session.commit()
    return _feed_url(request, f"/users/{user_id}/ical", secret)
