"""New alerts open their incidents in batches (opener.py), over real HTTP against a real
incident-management on the test database: a flood of alerts for distinct services opens one incident each
in a few batch requests, alerts of one service open one incident, and alerts whose batch incident-management
refuses or cannot take stay visibly pending until the retry cycle correlates them."""

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from typing import Any
from uuid import UUID

import httpx
import pytest
from anyio import to_thread
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from alert_ingestion.opener import LINGER_SECONDS, IncidentOpener, NewAlert
from platform_common.http import ServiceClient
from tests.support.apps import incident_app, incident_management, ingestion_app
from tests.support.servers import free_port, serve_in_thread
from tests.support.waiting import wait_until

BATCH = "/api/v1/incidents/batch"


class HeldBatches:
    """incident-management behind a door: it records each batch request (its number of incidents) and
    holds it until `ready()` is true, so alerts pile up as they do while a flood outruns it."""

    def __init__(self, app: FastAPI, ready: Callable[[], bool]) -> None:
        self.app = app
        self.ready = ready
        self.batches: list[int] = []
        self.single_opens = 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/api/v1/incidents":
            self.single_opens += 1
        if scope["type"] == "http" and scope["path"] == BATCH:
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            self.batches.append(len(json.loads(body)["incidents"]))
            await to_thread.run_sync(wait_until, self.ready, "every alert stored")
            replayed = [{"type": "http.request", "body": body, "more_body": False}]

            async def receive() -> dict[str, Any]:
                return replayed.pop() if replayed else {"type": "http.disconnect"}

        await self.app(scope, receive, send)


def _stored(engine: Engine, status: str | None = None) -> int:
    with engine.connect() as connection:
        query = "SELECT count(*) FROM alert_ingestion.alerts" + (" WHERE status = :status" if status else "")
        return connection.execute(text(query), {"status": status}).scalar_one()


def _incidents(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        return connection.execute(text("SELECT id, service, title FROM incident_management.incidents")).all()


@contextmanager
def _platform(database_url: str, engine: Engine, alerts: int) -> Iterator[tuple[str, HeldBatches]]:
    """alert-ingestion in front of a real incident-management that holds batches until `alerts` are stored."""
    held = HeldBatches(incident_app(database_url), lambda: _stored(engine) >= alerts)
    with serve_in_thread(held) as incidents_url, serve_in_thread(ingestion_app(database_url, incidents_url)) as alerts_url:
        yield alerts_url, held


def _send_at_once(alerts_url: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with httpx.Client(limits=httpx.Limits(max_connections=len(bodies))) as client, ThreadPoolExecutor(len(bodies)) as pool:
        responses = list(pool.map(lambda body: client.post(f"{alerts_url}/api/v1/alerts", json=body, timeout=60), bodies))
    assert [r.status_code for r in responses] == [201] * len(bodies), [r.text for r in responses if r.status_code != 201]
    return [r.json() for r in responses]


def test_a_flood_of_alerts_for_new_services_opens_one_incident_each_in_a_few_batches(database_url, clean_db):
    bodies = [{"service": f"service-{n}", "severity": "critical", "message": f"service-{n} unreachable"} for n in range(40)]
    with _platform(database_url, clean_db, len(bodies)) as (alerts_url, held):
        answers = _send_at_once(alerts_url, bodies)
    assert [(a["status"], a["action"]) for a in answers] == [("correlated", "new_incident")] * 40
    incidents = {row.id: row for row in _incidents(clean_db)}
    assert len(incidents) == 40
    assert sorted(incidents[UUID(a["incident_id"])].service for a in answers) == sorted(b["service"] for b in bodies)
    assert len(held.batches) < 40, held.batches
    assert sum(held.batches) == 40, "each alert is sent once"
    assert held.single_opens == 0
    assert _stored(clean_db, "correlated") == 40


def test_a_flood_of_alerts_for_one_service_opens_one_incident(database_url, clean_db):
    body = {"service": "checkout", "severity": "critical", "message": "checkout unreachable"}
    with _platform(database_url, clean_db, 10) as (alerts_url, held):
        answers = _send_at_once(alerts_url, [body] * 10)
    assert {a["status"] for a in answers} == {"correlated"}
    assert len({a["incident_id"] for a in answers}) == 1
    assert sorted(a["action"] for a in answers) == ["attached_to_existing_incident"] * 9 + ["new_incident"]
    assert len(_incidents(clean_db)) == 1
    assert sum(held.batches) == 10 and len(held.batches) < 10, held.batches


def test_an_alertmanager_group_of_new_services_opens_its_incidents_together(database_url, clean_db):
    """One webhook with 30 alerts for 30 services (a partition seen by Alertmanager): every alert is
    ingested at once, so they share batches instead of opening one incident after another."""
    group = {
        "version": "4",
        "status": "firing",
        "alerts": [
            {"status": "firing", "labels": {"alertname": "InstanceDown", "service": f"svc-{n}", "severity": "critical"}} for n in range(30)
        ],
    }
    with _platform(database_url, clean_db, 30) as (alerts_url, held):
        answer = httpx.post(f"{alerts_url}/api/v1/alerts/alertmanager", json=group, timeout=60)
    assert answer.status_code == 200, answer.text
    assert [(a["status"], a["action"]) for a in answer.json()["accepted"]] == [("correlated", "new_incident")] * 30
    assert len(_incidents(clean_db)) == 30
    assert sum(held.batches) == 30 and len(held.batches) <= 3, held.batches  # the first, then the rest together


def _refusing() -> FastAPI:
    refusing = FastAPI()
    refusing.post(BATCH)(lambda: JSONResponse({"error": {"code": "bad_request"}}, status_code=400))
    return refusing


@pytest.mark.parametrize(
    ("incident_management_now", "error"),
    [(_refusing, "incident-management answered 400"), (None, "incident-management is unavailable")],
    ids=["refusing", "unreachable"],
)
def test_alerts_whose_batch_fails_stay_visibly_pending_then_the_retry_cycle_correlates_them(
    database_url, clean_db, incident_management_now, error
):
    port = free_port()
    app = ingestion_app(database_url, f"http://127.0.0.1:{port}")
    bodies = [{"service": service, "severity": "high", "message": f"{service} failing"} for service in ("api", "api", "db")]
    with serve_in_thread(app) as alerts_url:
        if incident_management_now is None:
            answers = [httpx.post(f"{alerts_url}/api/v1/alerts", json=body, timeout=60).json() for body in bodies]
        else:
            with serve_in_thread(incident_management_now(), port):
                answers = [httpx.post(f"{alerts_url}/api/v1/alerts", json=body, timeout=60).json() for body in bodies]
        assert [(a["status"], a["action"], a["incident_id"]) for a in answers] == [("pending", "queued", None)] * 3
        with clean_db.connect() as connection:
            rows = connection.execute(text("SELECT status, attempts, last_error FROM alert_ingestion.alerts")).all()
        assert [(row.status, row.attempts) for row in rows] == [("pending", 1)] * 3
        assert all(error in row.last_error for row in rows), [row.last_error for row in rows]
        assert _incidents(clean_db) == []

        with incident_management(database_url, port):
            assert app.state.correlator.correlate_pending() == 3
        after = [httpx.get(f"{alerts_url}/api/v1/alerts/{a['alert_id']}").json() for a in answers]
    assert [(a["status"], a["action"]) for a in after] == [
        ("correlated", "new_incident"),
        ("correlated", "attached_to_existing_incident"),
        ("correlated", "new_incident"),
    ]
    assert after[0]["incident_id"] == after[1]["incident_id"] != after[2]["incident_id"]
    assert len(_incidents(clean_db)) == 2


def _pending_alert(engine: Engine, service: str) -> NewAlert:
    """An alert stored as pending, as intake leaves one that needs an incident."""
    with engine.begin() as connection:
        alert_id = connection.execute(
            text(
                "INSERT INTO alert_ingestion.alerts (service, severity, message, labels, timestamp, received_at, source, status) "
                "VALUES (:service, 'high', :message, '{}'::jsonb, now(), now(), 'api', 'pending') RETURNING id"
            ),
            {"service": service, "message": f"{service} failing"},
        ).scalar_one()
    return NewAlert(alert_id, f"{service} failing", service, "high", None)


def _correlated(engine: Engine, *alerts: NewAlert) -> bool:
    with engine.connect() as connection:
        statuses = connection.execute(
            text("SELECT status FROM alert_ingestion.alerts WHERE id = ANY(:ids)"), {"ids": [alert.id for alert in alerts]}
        ).scalars()
        return set(statuses) == {"correlated"}


def test_an_alert_arriving_just_as_the_sender_ends_is_still_sent(database_url, clean_db):
    """The sender ends when nothing arrived during its wait after a batch; an alert arriving in any of
    the turns around that end starts a batch of its own (a sender that is ending must not count as one
    still sending, or the alert would wait for a batch that never comes)."""
    with incident_management(database_url) as incidents_url, closing(ServiceClient("incident-management", incidents_url)) as client:

        async def alert_as_the_sender_ends(turns: int) -> Any:
            opener = IncidentOpener(clean_db, client, lambda _: 300)
            first = _pending_alert(clean_db, f"first-{turns}")
            sending = asyncio.ensure_future(opener.open(first))
            await _turns(10)  # the batch is in flight
            # The event loop is blocked on purpose until the batch is answered and attached, so that the
            # sender's wait after it begins in the next turns.
            wait_until(lambda: _correlated(clean_db, first), "the batch attached")
            time.sleep(0.5)
            await asyncio.sleep(LINGER_SECONDS)
            await _turns(turns)
            async with asyncio.timeout(10):
                late = await opener.open(_pending_alert(clean_db, f"late-{turns}"))
            await sending
            return late

        for turns in range(0, 8):
            late = asyncio.run(alert_as_the_sender_ends(turns))
            assert (late.status, late.action) == ("correlated", "new_incident"), f"after {turns} turns"


async def _turns(count: int) -> None:
    """Let the event loop run `count` turns."""
    for _ in range(count):
        await asyncio.sleep(0)
