"""What a page link may do, and doing it: check the token, find the person it names, acknowledge or
resolve the incident as them, once.

Every refusal is a `Refusal` with the status the page answers (nothing is changed by any of them):
    400 malformed      the token is not a page link at all
    403 forbidden      the signature does not match (changed, or another platform's link), or the
                       platform user it names is gone or may not act (a viewer)
    404 not found      the incident no longer exists
    409 conflict       the incident is already acknowledged (acknowledge) or resolved (both)
    410 gone           the link expired, or it was used already
    503 unavailable    oncall-service, which knows the platform users, cannot be asked right now
A link that was refused because of the incident's state (409) or an outage (503) stays usable.
"""

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import RowMapping, insert, select
from sqlalchemy.orm import Session

from incident_management import flows, service
from incident_management.lifecycle import Status
from incident_management.pagelinks.tables import used_page_links
from incident_management.schemas import IncidentUpdate
from platform_common.auth.principal import Principal, Role
from platform_common.clock import utcnow
from platform_common.errors import NotFound
from platform_common.http import PeerUnavailable, ServiceClient
from platform_common.pagelinks import LinkRefused, PageAction, PageLinker

TARGET = {"acknowledge": Status.ACKNOWLEDGED, "resolve": Status.RESOLVED}
_LINK_STATUS = {"malformed": 400, "signature": 403, "expired": 410}
_TITLES = {"malformed": "Not a page link", "signature": "This link is not valid", "expired": "This link has expired"}


@dataclass
class Refusal(Exception):
    status_code: int
    title: str
    message: str


def check_token(linker: PageLinker, token: str) -> PageAction:
    try:
        return linker.verify(token)
    except LinkRefused as exc:
        raise Refusal(_LINK_STATUS[exc.reason], _TITLES[exc.reason], str(exc)) from exc


def person(oncall: ServiceClient, action: PageAction) -> Principal:
    """Who acts: the platform user the link names (as they are now, asked of oncall-service with no
    database connection held), or the named person a page went to."""
    who = action.who
    if who.user_id is None:
        return Principal(kind="user", role=Role.responder, name=who.name, email=who.email)
    try:
        response = oncall.get(f"/api/v1/users/{who.user_id}")
    except PeerUnavailable as exc:
        raise Refusal(503, "Please try again in a moment", "The platform cannot check who you are right now.") from exc
    if response.status_code == 404:
        raise Refusal(403, "This link is not valid", f"{who.name} is no longer a user of this platform.")
    if response.status_code != 200:
        raise Refusal(503, "Please try again in a moment", "The platform cannot check who you are right now.")
    user = response.json()
    role = Role.parse(user["role"])
    if role < Role.responder:
        raise Refusal(403, "Not allowed", f"{user['name']} is a {role.name} and may not {action.action} incidents.")
    return Principal(kind="user", role=role, name=user["name"], id=UUID(user["id"]), email=user["email"])


def _used(session: Session, action: PageAction) -> RowMapping | None:
    return session.execute(select(used_page_links).where(used_page_links.c.nonce == action.nonce)).mappings().first()


def actionable(session: Session, action: PageAction, *, lock: bool = False) -> RowMapping:
    """The incident, when the link may still act on it; raises `Refusal` otherwise. Reads only."""
    try:
        incident = service.get_or_raise(session, incident_id=action.incident_id, lock=lock)
    except NotFound as exc:
        raise Refusal(404, "Incident not found", f"Incident {action.incident_id} does not exist (any more).") from exc
    if (used := _used(session, action)) is not None:
        raise Refusal(
            410, "This link was already used", f"{used['actor']} used it at {used['used_at']:%Y-%m-%d %H:%M} UTC to {used['action']}."
        )
    if incident["status"] == Status.RESOLVED:
        raise Refusal(409, "Already resolved", f"“{incident['title']}” is already resolved.")
    if action.action == "acknowledge" and incident["status"] != Status.OPEN:
        raise Refusal(409, "Already acknowledged", f"“{incident['title']}” was already acknowledged.")
    return incident


def perform(session: Session, action: PageAction, actor: Principal) -> RowMapping:
    """Acknowledge or resolve the incident as `actor` and spend the link, in one transaction."""
    actionable(session, action, lock=True)  # the incident's row lock serialises two uses of one link
    session.execute(
        insert(used_page_links).values(
            nonce=action.nonce, incident_id=action.incident_id, action=action.action, actor=actor.name, used_at=utcnow()
        )
    )
    change = IncidentUpdate(status=TARGET[action.action], author=actor.name)
    return flows.update_incident(session, incident_id=action.incident_id, change=change)
