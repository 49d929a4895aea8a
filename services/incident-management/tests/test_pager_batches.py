"""Pages due together go out as one batch: one on-call lookup, one delivery-plan lookup, one hand-over to
notification-service; a batch it refuses is sent again page by page, so only the refused page fails; one
it cannot take leaves every page pending, then they go out with the same idempotency keys. Real
PostgreSQL, stand-in peers over real HTTP."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Header, Query
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, select

from incident_management import service
from incident_management.paging import Pager
from incident_management.schemas import IncidentCreate
from incident_management.tables import incidents, pages, timeline
from platform_common.db import create_session_factory
from platform_common.http import ServiceClient
from tests.support.servers import serve_in_thread

CHANNELS = ["mock", "webhook"]
REFUSED = "refused@example.com"
START = datetime(2024, 1, 1, tzinfo=UTC)


class BatchPeers:
    """oncall-service and notification-service as they answer the pager, recording every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.notified: list[dict[str, Any]] = []
        self.batch_status: int | None = None
        self.app = FastAPI()
        self.app.get("/api/v1/oncall/current")(self._current)
        self.app.get("/api/v1/oncall")(self._every)
        self.app.get("/api/v1/people/delivery-plan")(self._plan)
        self.app.get("/api/v1/people/delivery-plans")(self._plans)
        self.app.post("/api/v1/notify")(self._notify)
        self.app.post("/api/v1/notify/batch")(self._notify_batch)

    @staticmethod
    def _primary(team: str) -> dict[str, Any]:
        email = REFUSED if team == "refusing" else f"{team}-oncall@example.com"
        return {"team": team, "primary": {"name": f"{team}-oncall", "email": email}}

    def _current(self, team: str) -> dict[str, Any]:
        self.calls.append(("current", team))
        return self._primary(team)

    def _every(self, team: Annotated[list[str], Query()]) -> list[dict[str, Any]]:
        self.calls.append(("oncall", sorted(team)))
        return [self._primary(name) for name in team]

    def _plan(self, email: str) -> JSONResponse:
        self.calls.append(("plan", email))
        return JSONResponse({"user_id": None, "name": None, "plan": []})

    def _plans(self, email: Annotated[list[str], Query()]) -> list[dict[str, Any]]:
        self.calls.append(("plans", sorted(email)))
        return [{"email": address, "user_id": None, "name": None, "plan": []} for address in email]

    def _notify(self, body: dict[str, Any], idempotency_key: str = Header()) -> JSONResponse:
        self.calls.append(("notify", idempotency_key))
        if body["recipient"] == REFUSED:
            return JSONResponse({"error": {"code": "validation_error"}}, status_code=422)
        self.notified.append({**body, "idempotency_key": idempotency_key})
        return JSONResponse({"id": idempotency_key, "status": "pending"}, status_code=201)

    def _notify_batch(self, body: dict[str, Any]) -> JSONResponse:
        items = body["notifications"]
        self.calls.append(("notify-batch", len(items)))
        if self.batch_status is not None:
            return JSONResponse({"error": "down"}, status_code=self.batch_status)
        if any(item["recipient"] == REFUSED for item in items):
            return JSONResponse({"error": {"code": "validation_error"}}, status_code=422)
        self.notified.extend(items)
        return JSONResponse([{"notification": {"id": item["idempotency_key"]}, "created": True} for item in items])


@pytest.fixture
def peers() -> Iterator[tuple[BatchPeers, str]]:
    stand_in = BatchPeers()
    with serve_in_thread(stand_in.app) as url:
        yield stand_in, url


@pytest.fixture
def pager(clean_db: Engine, peers) -> Iterator[Pager]:
    _, url = peers
    oncall, notifier = ServiceClient("oncall-service", url, retries=0), ServiceClient("notification-service", url, retries=0)
    yield Pager(create_session_factory(clean_db), oncall, notifier, CHANNELS, 30, lambda: START)
    oncall.close()
    notifier.close()


def queue(db: Engine, *teams: str) -> list[Any]:
    """An unassigned incident per team with its page queued (no recipient yet), as oncall-service down leaves them."""
    with create_session_factory(db)() as session:
        opened = service.create_many(
            session, [(IncidentCreate(title=f"{team} down", service=team, severity="critical"), None, None) for team in teams], now=START
        )
        service.queue_pages(session, [{"incident_id": row["id"], "recipient": None} for row in opened], reason="new_incident", now=START)
        session.commit()
    return [row["id"] for row in opened]


def page_states(db: Engine) -> dict[str, tuple[str, str | None]]:
    """Each team's page: (status, recipient)."""
    query = select(incidents.c.service, pages.c.status, pages.c.recipient).join(pages, pages.c.incident_id == incidents.c.id)
    with db.connect() as connection:
        return {team: (status, recipient) for team, status, recipient in connection.execute(query)}


def events(db: Engine, kind: str) -> list[str]:
    query = select(incidents.c.service).join(timeline, timeline.c.incident_id == incidents.c.id).where(timeline.c.kind == kind)
    with db.connect() as connection:
        return sorted(connection.execute(query).scalars())


def test_pages_due_together_go_out_in_one_lookup_and_one_hand_over(clean_db, peers, pager):
    stand_in, _ = peers
    teams = ["api", "db", "search", "web", "auth"]
    queue(clean_db, *teams)

    assert pager.deliver_due() == 5

    assert [call for call, _ in stand_in.calls] == ["oncall", "plans", "notify-batch"]
    assert stand_in.calls[0][1] == sorted(teams)
    assert stand_in.calls[2][1] == len(teams) * len(CHANNELS)
    assert page_states(clean_db) == {team: ("sent", f"{team}-oncall@example.com") for team in teams}
    assert events(clean_db, "paged") == sorted(teams)
    with clean_db.connect() as connection:
        assigned = dict(connection.execute(select(incidents.c.service, incidents.c.assigned_to)).all())
    assert assigned == {team: f"{team}-oncall" for team in teams}
    keys = {item["idempotency_key"] for item in stand_in.notified}
    assert len(keys) == len(teams) * len(CHANNELS), "every notification has a key of its own"


def test_a_refused_batch_is_sent_page_by_page_and_only_the_refused_page_fails(clean_db, peers, pager):
    stand_in, _ = peers
    queue(clean_db, "api", "refusing", "web")

    assert pager.deliver_due() == 3

    assert page_states(clean_db) == {
        "api": ("sent", "api-oncall@example.com"),
        "refusing": ("failed", None),
        "web": ("sent", "web-oncall@example.com"),
    }
    assert events(clean_db, "page_failed") == ["refusing"]
    assert ("notify-batch", 6) in stand_in.calls
    assert {item["recipient"] for item in stand_in.notified if item["channel"] == "mock"} == {
        "api-oncall@example.com",
        "web-oncall@example.com",
    }


def test_a_batch_notification_service_cannot_take_stays_pending_then_goes_out_with_the_same_keys(clean_db, peers, pager):
    stand_in, _ = peers
    queue(clean_db, "api", "web")
    stand_in.batch_status = 500

    assert pager.deliver_due() == 2
    assert page_states(clean_db) == {"api": ("pending", None), "web": ("pending", None)}
    assert events(clean_db, "page_pending") == ["api", "web"]
    assert stand_in.notified == []

    stand_in.batch_status = None
    pager.clock = lambda: START + timedelta(minutes=5)
    assert pager.deliver_due() == 2
    assert {state for state, _ in page_states(clean_db).values()} == {"sent"}
    with clean_db.connect() as connection:
        page_ids = {str(page_id) for page_id in connection.execute(select(pages.c.id)).scalars()}
    assert {item["idempotency_key"].split(":")[1] for item in stand_in.notified} == page_ids


def test_one_page_alone_uses_the_single_routes(clean_db, peers, pager):
    stand_in, _ = peers
    queue(clean_db, "api")

    assert pager.deliver_due() == 1

    assert [call for call, _ in stand_in.calls] == ["current", "plan", "notify", "notify"]
    assert page_states(clean_db) == {"api": ("sent", "api-oncall@example.com")}
