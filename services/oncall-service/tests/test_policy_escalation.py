"""Escalation policies driving the engine on the real database, with the real incident-management app and
a recording notification-service stand-in over HTTP: each step (and each repeat) paged exactly once by
two racing engines, the exhaustion flagged once and told to the team's admins, acknowledging stops it.
Time moves through the injected clock."""

import threading
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, text

from oncall import service
from oncall.engine import EscalationEngine
from oncall.identity import users
from oncall.identity.schemas import TeamCreate, UserCreate
from oncall.policies import service as policies
from oncall.policies.schemas import PolicyIn
from oncall.schemas import ScheduleCreate
from oncall.tables import escalations
from platform_common.clock import utcnow
from platform_common.db import create_session_factory
from platform_common.errors import Conflict

TEAM = "checkout-api"
CHANNELS = ["webhook", "email"]


@pytest.fixture
def people(clean_db, schedule_body) -> dict[str, str]:
    """Ada (a responder), Tess (an admin in identity team checkout-api), Root (another admin), the
    checkout-api schedule (Alice primary, Bob secondary) and identity team dba (Ada and Dan)."""
    with create_session_factory(clean_db)() as session:
        ids = {}
        for name, role in (("Ada", "responder"), ("Dan", "responder"), ("Tess", "admin"), ("Root", "admin")):
            ids[name] = str(
                users.create(session, data=UserCreate(name=name, email=f"{name.lower()}@example.org", role=role), now=utcnow())["id"]
            )
        users.create_team(session, data=TeamCreate(name=TEAM, member_ids=[ids["Tess"], ids["Ada"]]), now=utcnow())
        users.create_team(session, data=TeamCreate(name="dba", member_ids=[ids["Ada"], ids["Dan"]]), now=utcnow())
        service.create(session, data=ScheduleCreate(**schedule_body), now=utcnow())
        session.commit()
    return ids


def make_policy(db, *, steps: list[dict[str, Any]], repeat: int, team: str = TEAM) -> dict[str, Any]:
    with create_session_factory(db)() as session:
        row = policies.create(session, data=PolicyIn(name=f"{team} policy", team=team, steps=steps, repeat=repeat), now=utcnow())
        session.commit()
    return dict(row)


def open_unassigned(incident_management: str, team: str = TEAM) -> dict[str, Any]:
    """An incident as an alert opens it: nobody assigned, so incident-management decides who pages."""
    response = httpx.post(
        f"{incident_management}/api/v1/incidents", json={"title": f"{team} down", "service": team, "severity": "critical"}
    )
    assert response.status_code == 201, response.text
    return response.json()


def race(replicas: list[EscalationEngine]) -> None:
    barrier = threading.Barrier(len(replicas))

    def run(engine: EscalationEngine) -> None:
        barrier.wait()
        engine.run_cycle()

    threads = [threading.Thread(target=run, args=(engine,)) for engine in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


def rows(db, incident_id: str) -> list[dict[str, Any]]:
    with db.connect() as connection:
        query = select(escalations).where(escalations.c.incident_id == incident_id).order_by(escalations.c.level)
        return [dict(row) for row in connection.execute(query).mappings()]


def timeline(incident_management: str, incident_id: str) -> list[dict[str, Any]]:
    return httpx.get(f"{incident_management}/api/v1/incidents/{incident_id}/timeline").json()


def test_two_engines_page_each_step_and_each_repeat_once_then_flag_the_incident_and_tell_the_team_admins(
    people, make_engine, incident_management, notifier, clock, clean_db
):
    stand_in, _ = notifier
    steps = [
        {"delay_minutes": 1, "targets": [{"type": "user", "id": people["Ada"]}]},
        {"delay_minutes": 1, "targets": [{"type": "schedule", "id": TEAM}]},
    ]
    policy = make_policy(clean_db, steps=steps, repeat=1)
    incident = open_unassigned(incident_management)
    # The policy's step 1 replaces incident-management's own page to the on-call primary.
    opened = timeline(incident_management, incident["id"])
    assert [e["kind"] for e in opened] == ["created", "paging_by_policy"]
    assert incident["assigned_to"] is None
    replicas = [make_engine(), make_engine()]
    before = REGISTRY.get_sample_value("escalations_total", {"team": TEAM}) or 0.0

    claimed_by_tick: list[list[int]] = []
    for tick in range(11):  # 0:00, 0:30, … 5:00 (the incident was created just before 0:00)
        race(replicas)
        claimed_by_tick.append([row["level"] for row in rows(clean_db, incident["id"])])
        if tick == 1:  # deleting (or editing) the policy does not change a running escalation
            with create_session_factory(clean_db)() as session:
                policies.delete_(session, policy_id=policy["id"])
                session.commit()
        clock.advance(seconds=30)
    assert claimed_by_tick == [[1], [1], [1, 2], [1, 2], [1, 2, 3], [1, 2, 3], [1, 2, 3, 4], [1, 2, 3, 4], *[[1, 2, 3, 4, 5]] * 3]

    recipients = [(page["recipient"], page["channel"]) for page in stand_in.pages]
    expected = ["ada@example.org", "alice@example.org", "ada@example.org", "alice@example.org", "tess@example.org"]
    assert recipients == [(address, channel) for address in expected for channel in CHANNELS]
    assert len({page["key"] for page in stand_in.pages}) == len(stand_in.pages)
    assert "UNANSWERED" in stand_in.pages[-1]["message"]

    found = rows(clean_db, incident["id"])
    assert [(r["level"], r["kind"], r["name"], r["status"], r["attempts"]) for r in found] == [
        (1, "step", "Ada", "paged", 1),
        (2, "step", "Alice", "paged", 1),
        (3, "step", "Ada", "paged", 1),
        (4, "step", "Alice", "paged", 1),
        (5, "exhausted", "Tess", "paged", 1),  # Tess is the admin of identity team checkout-api; Root is not told
    ]
    assert found[2]["reason"] == "policy 'checkout-api policy' step 1, round 2 of 2"
    events = timeline(incident_management, incident["id"])
    assert [e["data"]["to"] for e in events if e["kind"] == "escalated"] == ["Ada", "Alice", "Ada", "Alice"]
    (exhausted,) = [e for e in events if e["kind"] == "escalation_exhausted"]
    assert exhausted["data"]["recipients"] == [{"name": "Tess", "email": "tess@example.org", "user_id": people["Tess"]}]
    assert httpx.get(f"{incident_management}/api/v1/incidents/{incident['id']}").json()["assigned_to"] == "Alice"
    assert REGISTRY.get_sample_value("escalations_total", {"team": TEAM}) == before + 4, "the exhaustion is not an escalation"


def test_acknowledging_stops_the_policy_and_cancels_a_step_already_claimed(
    people, make_engine, incident_management, notifier, clock, clean_db
):
    make_policy(clean_db, steps=[{"delay_minutes": 2, "targets": [{"type": "user", "id": people["Ada"]}]}], repeat=3)
    incident = open_unassigned(incident_management)
    engine = make_engine()
    assert engine.run_cycle() == {"claimed": 1, "delivered": 1}
    clock.advance(minutes=2)
    assert engine.claim_due() == 1
    httpx.patch(f"{incident_management}/api/v1/incidents/{incident['id']}", json={"status": "acknowledged"})
    assert engine.deliverer.deliver_due() == 1
    clock.advance(hours=2)
    assert engine.run_cycle() == {"claimed": 0, "delivered": 0}
    assert [(r["level"], r["status"]) for r in rows(clean_db, incident["id"])] == [(1, "paged"), (2, "cancelled")]
    assert len(notifier[0].pages) == len(CHANNELS)
    assert not [e for e in timeline(incident_management, incident["id"]) if e["kind"] == "escalation_exhausted"]


def test_a_team_target_pages_every_member_and_without_team_admins_every_admin_is_told(
    people, make_engine, incident_management, notifier, clock, clean_db
):
    make_policy(clean_db, team="payments", steps=[{"delay_minutes": 5, "targets": [{"type": "team", "id": "dba"}]}], repeat=0)
    incident = open_unassigned(incident_management, team="payments")
    engine = make_engine()
    engine.run_cycle()
    clock.advance(minutes=5)
    engine.run_cycle()
    step, exhausted = rows(clean_db, incident["id"])
    assert [p["email"] for p in step["recipients"]] == ["ada@example.org", "dan@example.org"]
    assert (step["name"], exhausted["name"]) == ("Ada, Dan", "Root, Tess")  # payments has no identity team: every admin
    assert sorted({page["recipient"] for page in notifier[0].pages}) == [
        "ada@example.org",
        "dan@example.org",
        "root@example.org",
        "tess@example.org",
    ]
    assert len(notifier[0].pages) == 4 * len(CHANNELS)


def test_on_demand_escalation_walks_the_policy_steps_but_never_claims_the_exhaustion(
    people, make_engine, incident_management, clock, clean_db
):
    steps = [
        {"delay_minutes": 30, "targets": [{"type": "user", "id": people["Ada"]}]},
        {"delay_minutes": 30, "targets": [{"type": "schedule", "id": TEAM}]},
    ]
    make_policy(clean_db, steps=steps, repeat=0)
    incident = open_unassigned(incident_management)
    engine = make_engine()
    assert engine.escalate_now(incident["id"], None)["name"] == "Ada"
    second = engine.escalate_now(incident["id"], "need the primary")
    assert (second["level"], second["name"], second["status"]) == (2, "Alice", "paged")
    with pytest.raises(Conflict, match="last level"):
        engine.escalate_now(incident["id"], None)
    clock.advance(minutes=60)
    assert engine.run_cycle() == {"claimed": 1, "delivered": 1}
    assert [r["kind"] for r in rows(clean_db, incident["id"])] == ["step", "step", "exhausted"]


def test_a_team_without_a_policy_keeps_the_schedule_and_its_first_page(people, incident_management, clean_db):
    make_policy(clean_db, team="payments", steps=[{"delay_minutes": 5, "targets": [{"type": "team", "id": "dba"}]}], repeat=0)
    incident = open_unassigned(incident_management)  # checkout-api: not governed; oncall-service is unreachable here
    kinds = [e["kind"] for e in timeline(incident_management, incident["id"])]
    assert "paging_by_policy" not in kinds
    with clean_db.connect() as connection:
        assert (
            connection.execute(
                text("SELECT count(*) FROM incident_management.pages WHERE incident_id = :id"), {"id": incident["id"]}
            ).scalar_one()
            == 1
        )
