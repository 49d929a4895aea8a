"""HTTP routes of notification-service: thin handlers over `delivery` and `service`."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response, status

from notification import delivery, service
from notification.schemas import (
    BatchNotificationOut,
    ChannelName,
    Destination,
    NotificationDetail,
    NotificationOut,
    NotificationStatus,
    NotifyBatchRequest,
    NotifyRequest,
)
from platform_common.auth.policy import INTERNAL, VIEWER, requires
from platform_common.db import SessionDep
from platform_common.errors import ERROR_RESPONSES
from platform_common.pagination import TOTAL_COUNT_HEADER, PageDep
from platform_common.validation import Text

router = APIRouter(prefix="/api/v1", tags=["notifications"])


@router.post(
    "/notify",
    dependencies=[requires(INTERNAL)],
    response_model=NotificationOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": NotificationOut, "description": "Replay of an earlier request with the same Idempotency-Key: nothing is sent again"},
        409: ERROR_RESPONSES[409],
        422: ERROR_RESPONSES[422],
    },
)
def notify(
    data: NotifyRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    idempotency_key: Annotated[Text | None, Header(min_length=1, max_length=200)] = None,
) -> NotificationOut:
    """Queue a notification (stored as `pending` first) and deliver it in the background, with retries.
    A webhook URL must name an allowed host (WEBHOOK_ALLOWED_HOSTS or WEBHOOK_URL's); optional
    `fallbacks` are tried in order, each as its own notification, when the one before keeps failing."""
    state = request.app.state
    row, created = delivery.accept(session, data=data, idempotency_key=idempotency_key, channels=state.channels, now=state.clock())
    if created:
        state.delivery_workers.wake()
    else:
        response.status_code = status.HTTP_200_OK
    return NotificationOut.model_validate(row)


@router.post(
    "/notify/batch",
    dependencies=[requires(INTERNAL)],
    response_model=list[BatchNotificationOut],
    responses={409: ERROR_RESPONSES[409], 422: ERROR_RESPONSES[422]},
)
def notify_batch(data: NotifyBatchRequest, request: Request, session: SessionDep) -> list[BatchNotificationOut]:
    """Up to 100 notifications at once (a pager's batch), each exactly as POST /notify with its
    `idempotency_key`, in order: one answer per item, `created` false for a replay. All or nothing: an
    invalid item (or a key reused for another destination) answers the error /notify would give for it,
    naming the item (`notifications.<index>`), and stores nothing."""
    state = request.app.state
    results = delivery.accept_batch(session, items=data.notifications, channels=state.channels, now=state.clock())
    state.delivery_workers.wake(sum(created for _, created in results))
    return [BatchNotificationOut(notification=NotificationOut.model_validate(row), created=created) for row, created in results]


@router.post(
    "/destinations/check",
    dependencies=[requires(INTERNAL)],
    response_model=Destination,
    responses={422: ERROR_RESPONSES[422]},
)
def check_destination(data: Destination, request: Request) -> Destination:
    """Would a notification to this channel and recipient be accepted now (the recipient's format, an
    Apprise URL Apprise can use, a webhook or Apprise host the egress policy allows)? 200 with the
    destination, or 422 saying why. Nothing is stored or sent (oncall-service asks before it keeps a
    person's contact method)."""
    delivery.check_destination(data, channels=request.app.state.channels)
    return data


@router.get("/notifications", dependencies=[requires(VIEWER)], response_model=list[NotificationOut])
def list_notifications(
    session: SessionDep,
    response: Response,
    page: PageDep,
    incident_id: UUID | None = None,
    status_: Annotated[NotificationStatus | None, Query(alias="status")] = None,
    channel: ChannelName | None = None,
) -> list[NotificationOut]:
    """Notifications, newest first, filtered by incident, status and channel; total in X-Total-Count."""
    rows, total = service.list_(session, incident_id=incident_id, status=status_, channel=channel, page=page)
    response.headers[TOTAL_COUNT_HEADER] = str(total)
    return [NotificationOut.model_validate(row) for row in rows]


@router.get(
    "/notifications/{notification_id}",
    dependencies=[requires(VIEWER)],
    response_model=NotificationDetail,
    responses={404: ERROR_RESPONSES[404]},
)
def get_notification(notification_id: UUID, session: SessionDep) -> NotificationDetail:
    """The notification with every delivery attempt (number, outcome, error, duration, time)."""
    return NotificationDetail.model_validate(service.detail(session, notification_id=notification_id))
