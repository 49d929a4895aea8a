"""The batch lookups a flood of new incidents uses (issue 13), on the real test database: `GET
/api/v1/oncall?team=…` and `GET /api/v1/people/delivery-plans?email=…` answer exactly what the single
lookups answer for each input, refuse more than 200 inputs, and run the same number of SQL statements
for 2 inputs as for 20.

Every shift boundary is days away from now (weekly rotations started three days ago, no restrictions),
so the single and the batch answers, read a moment apart, describe the same shift."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from oncall.main import create_app
from oncall.people import service as people
from oncall.people.schemas import ContactMethodCreate, NotificationRuleCreate
from platform_common.clock import utcnow
from tests.support.statements import statements

SINCE = (utcnow() - timedelta(days=3)).isoformat()
ADMIN_TOKEN = "test-bootstrap-admin-token-batch-0123456789"
SERVICE_TOKEN = "test-service-token-batch-0123456789"


def schedule(team: str, *members: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"team": team, "rotation_type": "weekly", "start": SINCE, "timezone": "UTC", "members": list(members), **fields}


def person(name: str) -> dict[str, str]:
    return {"name": name, "email": f"{name.lower()}@example.org"}


def created(response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()


def make_user(client: TestClient, name: str) -> str:
    return created(client.post("/api/v1/users", json={"name": name, "email": f"{name.lower()}@example.org", "role": "responder"}))["id"]


def add_method(client: TestClient, user_id: str, type_: str, address: str) -> str:
    """Stored through the service layer: notification-service's address check is not under test here."""
    with client.app.state.session_factory() as session:
        data = ContactMethodCreate(type=type_, address=address)
        method_id = people.create_contact_method(session, user_id=user_id, data=data, now=utcnow())["id"]
        session.commit()
    return str(method_id)


def add_rule(client: TestClient, user_id: str, method_id: str, delay: int) -> None:
    with client.app.state.session_factory() as session:
        people.create_rule(
            session, user_id=user_id, data=NotificationRuleCreate(contact_method_id=method_id, delay_minutes=delay), now=utcnow()
        )
        session.commit()


def oncall(client: TestClient, teams: list[str]) -> list[dict[str, Any]]:
    response = client.get("/api/v1/oncall", params={"team": teams})
    assert response.status_code == 200, response.text
    return response.json()


def plans(client: TestClient, emails: list[str], headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    response = client.get("/api/v1/people/delivery-plans", params={"email": emails}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_batch_on_call_answer_is_each_teams_current_answer(client: TestClient):
    carol = make_user(client, "Carol")
    created(client.post("/api/v1/schedules", json=schedule("payments", person("Alice"), person("Bob"))))
    created(client.post("/api/v1/schedules", json=schedule("checkout", person("Dave"), {"user_id": carol})))
    layer = {"name": "day", "rotation_type": "weekly", "start": SINCE, "members": [{"user_id": carol}, person("Erin")]}
    created(client.post("/api/v1/schedules", json=schedule("search", person("Frank"), layers=[layer])))
    now = utcnow()
    window = {**person("Oscar"), "start": (now - timedelta(hours=1)).isoformat(), "end": (now + timedelta(days=1)).isoformat()}
    created(client.post("/api/v1/schedules/checkout/overrides", json=window))

    asked = ["search", "no-schedule", "checkout", "payments", "checkout"]
    singles = {team: client.get("/api/v1/oncall/current", params={"team": team}) for team in asked}
    assert singles["no-schedule"].status_code == 404
    expected = [singles[team].json() for team in sorted(set(asked)) if singles[team].status_code == 200]
    assert oncall(client, asked) == expected
    assert [entry["team"] for entry in expected] == ["checkout", "payments", "search"]
    assert expected[0]["overridden"] and expected[0]["primary"]["name"] == "Oscar"
    assert expected[2]["primary"]["email"] in ("carol@example.org", "erin@example.org")  # the layer, not the bottom rotation
    # Without `team`, every team, as before; no team asked that has a schedule: an empty list.
    assert client.get("/api/v1/oncall").json() == expected
    assert oncall(client, ["no-schedule"]) == []


@pytest.mark.parametrize("name", ["", "x" * 201, "nul\x00"], ids=["empty", "too long", "NUL"])
def test_a_team_the_single_lookup_refuses_is_refused_in_the_batch(client: TestClient, name: str):
    assert client.get("/api/v1/oncall/current", params={"team": name}).status_code == 422
    response = client.get("/api/v1/oncall", params={"team": ["payments", name]})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"].startswith("team")


def test_more_than_two_hundred_teams_are_refused(client: TestClient):
    response = client.get("/api/v1/oncall", params={"team": [f"team-{n}" for n in range(201)]})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "team"


def test_two_hundred_teams_are_answered(client: TestClient):
    created(client.post("/api/v1/schedules", json=schedule("team-7", person("Alice"))))
    assert [entry["team"] for entry in oncall(client, [f"team-{n}" for n in range(200)])] == ["team-7"]


def test_the_batch_delivery_plans_are_each_emails_delivery_plan(client: TestClient):
    rita, bob = make_user(client, "Rita"), make_user(client, "Bob")
    make_user(client, "Carol")  # a user without contact methods
    mail, hook = (
        add_method(client, rita, "email", "rita@example.org"),
        add_method(client, rita, "webhook", "https://hooks.example.org/rita"),
    )
    for method, delay in ((hook, 5), (mail, 0), (hook, 15)):
        add_rule(client, rita, method, delay)
    add_method(client, bob, "webhook", "https://hooks.example.org/bob")
    add_method(client, bob, "email", "bob@example.org")  # no rules: both at once

    asked = ["RITA@example.org", "bob@example.org", "nobody@example.org", "carol@example.org", "rita@example.org"]
    singles = [client.get("/api/v1/people/delivery-plan", params={"email": email}).json() for email in asked]
    assert plans(client, asked) == [{"email": email, **single} for email, single in zip(asked, singles, strict=True)]
    assert [s["delay_minutes"] for s in singles[0]["plan"]] == [0, 5, 15]
    assert [s["channel"] for s in singles[1]["plan"]] == ["webhook", "email"]
    assert singles[2] == {"user_id": None, "name": None, "plan": []}
    assert (singles[3]["name"], singles[3]["plan"]) == ("Carol", [])
    assert singles[0] == singles[4]


@pytest.mark.parametrize(
    "query",
    [{"email": [f"p{n}@example.org" for n in range(201)]}, {}, {"email": ["not-an-address"]}, {"email": ["a@example.org", ""]}],
    ids=["201 emails", "none", "not an address", "empty"],
)
def test_a_bad_email_list_is_refused(client: TestClient, query: dict[str, Any]):
    response = client.get("/api/v1/people/delivery-plans", params=query)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"].startswith("email")


def test_two_hundred_emails_are_answered_in_order(client: TestClient):
    asked = [f"p{n}@example.org" for n in range(200)]
    assert [entry["email"] for entry in plans(client, asked)] == asked


def test_the_statements_do_not_grow_with_the_number_of_teams(client: TestClient):
    carol = make_user(client, "Carol")
    teams = [f"team-{n:02}" for n in range(20)]
    for team in teams:
        layer = {"name": "day", "rotation_type": "weekly", "start": SINCE, "members": [{"user_id": carol}]}
        created(client.post("/api/v1/schedules", json=schedule(team, person("Alice"), {"user_id": carol}, layers=[layer])))
        window = {**person("Oscar"), "start": utcnow().isoformat(), "end": (utcnow() + timedelta(hours=1)).isoformat()}
        created(client.post(f"/api/v1/schedules/{team}/overrides", json=window))
    with statements(client.app.state.engine) as few:
        assert len(oncall(client, teams[:2])) == 2
    with statements(client.app.state.engine) as many:
        assert len(oncall(client, teams)) == 20
    assert few and len(many) == len(few)


def test_the_statements_do_not_grow_with_the_number_of_emails(client: TestClient):
    emails = []
    for n in range(20):
        user_id = make_user(client, f"P{n:02}")
        add_rule(client, user_id, add_method(client, user_id, "email", f"p{n:02}@example.org"), 0)
        emails.append(f"p{n:02}@example.org")
    with statements(client.app.state.engine) as few:
        assert all(entry["plan"] for entry in plans(client, emails[:2]))
    with statements(client.app.state.engine) as many:
        assert all(entry["plan"] for entry in plans(client, emails))
    assert few and len(many) == len(few)


@pytest.fixture
def secured(oncall_settings, clean_db) -> Iterator[TestClient]:
    settings = oncall_settings(anonymous_role="none", bootstrap_admin_token=ADMIN_TOKEN, service_token=SERVICE_TOKEN, auth_cache_seconds=0)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_delivery_plans_are_for_services_and_admins_only(secured: TestClient):
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    user = created(secured.post("/api/v1/users", json={"name": "Rita", "email": "rita@example.org", "role": "responder"}, headers=admin))
    token = created(secured.post(f"/api/v1/users/{user['id']}/tokens", json={"name": "cli"}, headers=admin))["token"]
    query = {"email": ["rita@example.org"]}
    assert secured.get("/api/v1/people/delivery-plans", params=query).status_code == 401
    assert secured.get("/api/v1/people/delivery-plans", params=query, headers={"Authorization": f"Bearer {token}"}).status_code == 403
    for headers in (admin, {"Authorization": f"Bearer {SERVICE_TOKEN}"}):
        assert plans(secured, query["email"], headers=headers) == [
            {"email": "rita@example.org", "user_id": user["id"], "name": "Rita", "plan": []}
        ]
