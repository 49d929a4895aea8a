"""The escalation engine against the real database, the real incident-management app over HTTP and a
recording notification-service stand-in. Time moves through the injected clock, never by sleeping."""

import threading

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from oncall import service
from oncall.engine import EscalationEngine
from oncall.schemas import ScheduleCreate, ScheduleFields
from oncall.tables import escalation_policies, escalations
from platform_common.clock import utcnow
from platform_common.db import create_session_factory
from tests.support.servers import free_port

CHANNELS = ["webhook", "email"]
TEAM = "checkout-api"


@pytest.fixture
def schedule(clean_db, schedule_body):
    with create_session_factory(clean_db)() as session:
        created = service.create(session, data=ScheduleCreate(**schedule_body), now=utcnow())
        session.commit()
    return created


def escalation_rows(db, incident_id=None) -> list[dict]:
    with db.connect() as connection:
        query = select(escalations).order_by(escalations.c.incident_id, escalations.c.level)
        if incident_id is not None:
            query = query.where(escalations.c.incident_id == incident_id)
        return [dict(row) for row in connection.execute(query).mappings()]


def timeline(incidents_url: str, incident_id: str) -> list[dict]:
    return httpx.get(f"{incidents_url}/api/v1/incidents/{incident_id}/timeline").json()


def escalations_total(team: str = TEAM) -> float:
    return REGISTRY.get_sample_value("escalations_total", {"team": team}) or 0.0


def test_an_unacknowledged_incident_escalates_to_the_secondary_once_it_is_due(
    schedule,
    make_engine,
    open_incident,
    incident_management,
    notifier,
    clock,
    clean_db,
):
    stand_in, _ = notifier
    engine = make_engine()
    incident = open_incident()
    assert engine.run_cycle() == {"claimed": 0, "delivered": 0}
    clock.advance(minutes=14, seconds=50)
    assert engine.run_cycle()["claimed"] == 0
    before = escalations_total()

    clock.advance(seconds=15)
    assert engine.run_cycle() == {"claimed": 1, "delivered": 1}

    assert [(p["channel"], p["recipient"], p["key"]) for p in stand_in.pages] == [
        (channel, "bob@example.org", f"escalation:{incident['id']}:1:{channel}:bob@example.org") for channel in CHANNELS
    ]
    assert "ESCALATED level 1" in stand_in.pages[0]["message"]
    (row,) = escalation_rows(clean_db)
    assert (row["level"], row["name"], row["status"], row["manual"]) == (1, "Bob", "paged", False)
    events = [e for e in timeline(incident_management, incident["id"]) if e["kind"] == "escalated"]
    assert len(events) == 1
    assert events[0]["data"]["to"] == "Bob" and events[0]["actor"] == "oncall-service"
    assert httpx.get(f"{incident_management}/api/v1/incidents/{incident['id']}").json()["assigned_to"] == "Bob"
    assert escalations_total() == before + 1

    assert engine.run_cycle() == {"claimed": 0, "delivered": 0}, "level 2 is not due before 30 minutes"
    assert len(stand_in.pages) == 2


def test_further_levels_follow_the_policy_frozen_at_the_first_escalation(schedule, make_engine, open_incident, notifier, clock, clean_db):
    stand_in, _ = notifier
    engine = make_engine()
    incident = open_incident()
    clock.advance(minutes=16)
    engine.run_cycle()
    with create_session_factory(clean_db)() as session:  # the team changes its policy meanwhile
        service.update_(
            session,
            team=TEAM,
            change=ScheduleFields(escalation_levels=[{"name": "Nia", "email": "nia@example.org"}], escalation_minutes=1),
            now=utcnow(),
        )
        session.commit()
    clock.advance(minutes=10)
    assert engine.run_cycle()["claimed"] == 0, "the frozen policy still says 15 minutes per level"
    clock.advance(minutes=5)
    assert engine.run_cycle()["claimed"] == 1
    clock.advance(hours=5)
    assert engine.run_cycle()["claimed"] == 0, "no level after the last one"
    assert [r["name"] for r in escalation_rows(clean_db, incident["id"])] == ["Bob", "Erin"]
    assert [p["recipient"] for p in stand_in.pages[2:]] == ["erin@example.org"] * 2
    with clean_db.connect() as connection:
        snapshot = connection.execute(select(escalation_policies.c.snapshot)).scalar_one()
    assert snapshot == {
        "escalation_minutes": 15,
        "levels": [{"name": "Bob", "email": "bob@example.org"}, {"name": "Erin", "email": "erin@example.org"}],
    }


def test_two_replicas_running_the_same_cycle_escalate_and_page_exactly_once(
    schedule, make_engine, open_incident, incident_management, notifier, clock, clean_db
):
    stand_in, _ = notifier
    replicas = [make_engine(), make_engine()]
    incidents = [open_incident() for _ in range(5)]
    clock.advance(minutes=16)
    for _ in range(3):  # several rounds of racing cycles
        barrier = threading.Barrier(len(replicas))
        results: list[dict] = []

        def run(engine: EscalationEngine, barrier=barrier, results=results) -> None:
            barrier.wait()
            results.append(engine.run_cycle())

        threads = [threading.Thread(target=run, args=(engine,)) for engine in replicas]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    rows = escalation_rows(clean_db)
    assert sorted((str(r["incident_id"]), r["level"]) for r in rows) == sorted((i["id"], 1) for i in incidents)
    assert {(r["status"], r["attempts"]) for r in rows} == {("paged", 1)}, "each row delivered by one replica, once"
    assert len(stand_in.pages) == len(incidents) * len(CHANNELS)
    assert len({p["key"] for p in stand_in.pages}) == len(stand_in.pages)
    for incident in incidents:
        assert len([e for e in timeline(incident_management, incident["id"]) if e["kind"] == "escalated"]) == 1


def test_acknowledged_incidents_are_never_escalated(schedule, make_engine, open_incident, incident_management, notifier, clock, clean_db):
    engine = make_engine()
    incident = open_incident()
    ack = httpx.patch(f"{incident_management}/api/v1/incidents/{incident['id']}", json={"status": "acknowledged"})
    assert ack.status_code == 200
    clock.advance(hours=3)
    assert engine.run_cycle() == {"claimed": 0, "delivered": 0}
    assert escalation_rows(clean_db) == [] and notifier[0].pages == []


def test_an_acknowledgement_between_claim_and_delivery_cancels_the_page(
    schedule,
    make_engine,
    open_incident,
    incident_management,
    notifier,
    clock,
    clean_db,
):
    stand_in, _ = notifier
    engine = make_engine()
    incident = open_incident()
    clock.advance(minutes=16)
    assert engine.claim_due() == 1
    httpx.patch(f"{incident_management}/api/v1/incidents/{incident['id']}", json={"status": "acknowledged"})
    assert engine.deliverer.deliver_due() == 1
    (row,) = escalation_rows(clean_db)
    assert (row["status"], row["last_error"]) == ("cancelled", "incident is acknowledged")
    assert stand_in.pages == []


def test_teams_without_a_schedule_are_left_alone(make_engine, open_incident, clock, clean_db):
    engine = make_engine()
    open_incident(team="no-schedule")
    clock.advance(hours=1)
    assert engine.run_cycle() == {"claimed": 0, "delivered": 0}
    assert escalation_rows(clean_db) == []


def test_incident_management_down_still_claims_due_levels_and_keeps_them_pending(
    schedule, make_engine, open_incident, notifier, clock, clean_db
):
    """What is due is read from the database, so an outage of incident-management delays only the page."""
    incident = open_incident()
    engine = make_engine(incidents_url=f"http://127.0.0.1:{free_port()}")
    clock.advance(minutes=16)
    assert engine.run_cycle() == {"claimed": 1, "delivered": 1}
    (row,) = escalation_rows(clean_db, incident["id"])
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "incident-management is unavailable" in row["last_error"]
    assert notifier[0].pages == []


def test_notification_service_down_keeps_the_escalation_pending_and_a_restarted_replica_delivers_it(
    schedule,
    make_engine,
    open_incident,
    incident_management,
    notifier,
    clock,
    clean_db,
):
    stand_in, _ = notifier
    stand_in.down = True
    incident = open_incident()
    clock.advance(minutes=16)
    assert make_engine().run_cycle() == {"claimed": 1, "delivered": 1}
    (row,) = escalation_rows(clean_db)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "503" in row["last_error"]
    assert not [e for e in timeline(incident_management, incident["id"]) if e["kind"] == "escalated"]

    stand_in.down = False
    restarted = make_engine()  # a new replica: everything it knows comes from the database
    assert restarted.run_cycle() == {"claimed": 0, "delivered": 0}, "backing off until the retry is due"
    clock.advance(seconds=3)
    assert restarted.run_cycle() == {"claimed": 0, "delivered": 1}
    (row,) = escalation_rows(clean_db)
    assert row["status"] == "paged"
    assert len(stand_in.pages) == 2
    assert len([e for e in timeline(incident_management, incident["id"]) if e["kind"] == "escalated"]) == 1


def test_a_page_notification_service_refuses_marks_the_escalation_failed(schedule, make_engine, open_incident, clock, clean_db):
    engine = make_engine(channels=["rejected"])
    open_incident()
    clock.advance(minutes=16)
    engine.run_cycle()
    (row,) = escalation_rows(clean_db)
    assert row["status"] == "failed"
    assert "422" in row["last_error"]
