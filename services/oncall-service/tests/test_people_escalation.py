"""Escalation pages people on their contact methods (SPEC §12): a schedule member who is a platform user
(by user_id, or matched by email) is paged per their notification rules, each rule its own notification
(delayed ones with `not_before`) and idempotency key; a member who is not a user keeps PAGE_CHANNELS.
The real incident-management over HTTP, a recording notification-service stand-in, a movable clock."""

from datetime import datetime, timedelta

import httpx
from sqlalchemy import select

from oncall import service
from oncall.engine import EscalationEngine
from oncall.identity import users
from oncall.identity.schemas import UserCreate
from oncall.people import service as people
from oncall.people.schemas import ContactMethodCreate, NotificationRuleCreate
from oncall.schemas import ScheduleCreate
from oncall.tables import escalations
from platform_common.clock import utcnow
from platform_common.db import create_session_factory
from platform_common.http import ServiceClient


def test_a_member_who_is_a_user_is_paged_on_their_contact_methods_per_their_rules(
    database_url, clean_db, incident_management, notifier, clock, open_incident, schedule_body
):
    stand_in, notifier_url = notifier
    factory = create_session_factory(clean_db)
    with factory() as session:  # Bob, the secondary, is a user (matched by email); Erin (level 2) is not
        bob = users.create(session, data=UserCreate(name="Bob", email="BOB@example.org", role="responder"), now=utcnow())
        mail = people.create_contact_method(
            session, user_id=bob["id"], data=ContactMethodCreate(type="email", address="bob@mail.example.org"), now=utcnow()
        )
        hook = people.create_contact_method(
            session, user_id=bob["id"], data=ContactMethodCreate(type="webhook", address="https://chat.example.org/hooks/bob"), now=utcnow()
        )
        for method, delay in ((mail, 0), (hook, 1)):
            people.create_rule(
                session, user_id=bob["id"], data=NotificationRuleCreate(contact_method_id=method["id"], delay_minutes=delay), now=utcnow()
            )
        session.commit()
    with factory() as session:
        service.create(session, data=ScheduleCreate(**schedule_body), now=utcnow())
        session.commit()
    incident = open_incident()
    engine = EscalationEngine(
        factory,
        ServiceClient("incident-management", incident_management, retries=0, timeout=5),
        ServiceClient("notification-service", notifier_url, retries=0, timeout=5),
        ["mock"],
        clock=clock,
    )
    clock.advance(minutes=16)
    engine.run_cycle()
    engine.run_cycle()  # a second cycle sends nothing again
    with factory() as session:
        claimed = session.execute(select(escalations.c.created_at)).scalar_one()
    bobs = [(p["channel"], p["recipient"], p.get("not_before")) for p in stand_in.pages]
    later = (claimed + timedelta(minutes=1)).isoformat()
    assert bobs == [("email", "bob@mail.example.org", None), ("webhook", "https://chat.example.org/hooks/bob", later)]
    assert datetime.fromisoformat(later) > clock()
    assert all(p["message"].startswith("[ESCALATED level 1]") for p in stand_in.pages)
    assert {p["key"] for p in stand_in.pages} == {
        f"escalation:{incident['id']}:1:cm:{mail['id']}:bob@example.org",
        f"escalation:{incident['id']}:1:cm:{hook['id']}:bob@example.org",
    }

    clock.advance(minutes=15)  # level 2: Erin is not a user, paged on PAGE_CHANNELS at her email
    engine.run_cycle()
    assert [(p["channel"], p["recipient"]) for p in stand_in.pages[2:]] == [("mock", "erin@example.org")]
    events = [e for e in httpx.get(f"{incident_management}/api/v1/incidents/{incident['id']}/timeline").json() if e["kind"] == "escalated"]
    first = events[0]["data"]["recipients"][0]
    assert first["via"] == ["email after 0 min", "webhook after 1 min"]
    assert "hooks/bob" not in str(events)  # contact addresses never reach the timeline
