"""HTTP routes of page links: `GET` shows the confirmation page, `POST` (its form) acts. Both answer HTML."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from incident_management.pagelinks import page, service
from platform_common.auth.policy import PUBLIC, requires
from platform_common.db import SessionDep
from platform_common.pagelinks import PATH

router = APIRouter(prefix=PATH, tags=["page actions"])
_HTML = {"content": {"text/html": {}}}
_RESPONSES = {
    code: {**_HTML, "description": description}
    for code, description in {
        400: "Not a page link",
        403: "Changed or foreign signature, or the person may not act (any more)",
        404: "The incident does not exist",
        409: "The incident is already acknowledged (acknowledge) or resolved",
        410: "The link expired or was used already",
        503: "oncall-service cannot be asked who the person is; try again",
    }.items()
}


def _html(body: str, status_code: int = 200) -> HTMLResponse:
    headers = {**page.HEADERS, **({"Retry-After": "5"} if status_code == 503 else {})}
    return HTMLResponse(body, status_code=status_code, headers=headers)


def _refused(refusal: service.Refusal) -> HTMLResponse:
    return _html(page.refused(refusal.title, refusal.message), refusal.status_code)


@router.get("/{token}", dependencies=[requires(PUBLIC)], response_class=HTMLResponse, responses={200: _HTML, **_RESPONSES})
def confirm_page_action(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    """The confirmation page of a page link: what it would do, as whom, and one button. Changes
    nothing, ever (link previews and mail scanners open links). Public at the HTTP level: the signed,
    single-use, expiring token in the path is the credential."""
    try:
        action = service.check_token(request.app.state.page_links, token)
        actor = service.person(request.app.state.oncall, action)
        incident = service.actionable(session, action)
    except service.Refusal as refusal:
        return _refused(refusal)
    return _html(page.confirmation(incident, action, actor.name))


@router.post("/{token}", dependencies=[requires(PUBLIC)], response_class=HTMLResponse, responses={200: _HTML, **_RESPONSES})
def perform_page_action(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    """Acknowledge or resolve the incident as the person the link was sent to, once: the timeline and
    the audit log name them. Public at the HTTP level: the signed, single-use, expiring token in the
    path is the credential (no other credential is looked at)."""
    try:
        action = service.check_token(request.app.state.page_links, token)
        actor = service.person(request.app.state.oncall, action)
        request.state.principal = actor  # what the audit log records for this request
        incident = service.perform(session, action, actor)
    except service.Refusal as refusal:
        return _refused(refusal)
    return _html(page.done(incident, actor.name))
