"""The escalation policies API on the real database (SPEC §12): create, list, read, replace, delete;
every refusal is a clear 4xx that stores nothing; admins write, viewers read."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from oncall.main import create_app
from platform_common import migrations

ADMIN_TOKEN = "test-bootstrap-admin-token-policies-0123"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def app_client(oncall_settings, clean_db) -> Iterator[TestClient]:
    settings = oncall_settings(anonymous_role="none", bootstrap_admin_token=ADMIN_TOKEN, auth_cache_seconds=0)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def world(app_client: TestClient, schedule_body: dict[str, Any]) -> dict[str, str]:
    """A user, a schedule (team checkout-api) and an identity team to aim targets at."""
    user = app_client.post("/api/v1/users", json={"name": "Ada", "email": "ada@example.org", "role": "responder"}, headers=ADMIN)
    assert app_client.post("/api/v1/schedules", json=schedule_body, headers=ADMIN).status_code == 201
    assert app_client.post("/api/v1/teams", json={"name": "dba", "member_ids": [user.json()["id"]]}, headers=ADMIN).status_code == 201
    return {"user": user.json()["id"], "schedule": schedule_body["team"], "team": "dba"}


def body(world: dict[str, str], **changes: Any) -> dict[str, Any]:
    return {
        "name": "checkout",
        "team": "checkout-api",
        "steps": [
            {"delay_minutes": 5, "targets": [{"type": "user", "id": world["user"]}]},
            {"delay_minutes": 10, "targets": [{"type": "schedule", "id": world["schedule"]}, {"type": "team", "id": world["team"]}]},
        ],
        "repeat": 2,
        **changes,
    }


def test_a_policy_is_created_listed_read_replaced_and_deleted(app_client: TestClient, world: dict[str, str]) -> None:
    created = app_client.post("/api/v1/escalation-policies", json=body(world), headers=ADMIN)
    assert created.status_code == 201, created.text
    policy = created.json()
    assert (policy["name"], policy["team"], policy["repeat"], len(policy["steps"])) == ("checkout", "checkout-api", 2, 2)
    assert policy["steps"][1]["targets"] == [{"type": "schedule", "id": "checkout-api"}, {"type": "team", "id": "dba"}]

    listed = app_client.get("/api/v1/escalation-policies", headers=ADMIN)
    assert listed.headers["X-Total-Count"] == "1" and [p["id"] for p in listed.json()] == [policy["id"]]
    assert app_client.get("/api/v1/escalation-policies", params={"team": "checkout-api"}, headers=ADMIN).json()[0]["id"] == policy["id"]
    assert app_client.get("/api/v1/escalation-policies", params={"team": "other"}, headers=ADMIN).json() == []
    assert app_client.get(f"/api/v1/escalation-policies/{policy['id']}", headers=ADMIN).json() == policy

    replaced = app_client.put(
        f"/api/v1/escalation-policies/{policy['id']}", json=body(world, team=None, repeat=0, steps=body(world)["steps"][:1]), headers=ADMIN
    )
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["team"], replaced.json()["repeat"], len(replaced.json()["steps"])) == (None, 0, 1)
    assert replaced.json()["created_at"] == policy["created_at"]

    assert app_client.delete(f"/api/v1/escalation-policies/{policy['id']}", headers=ADMIN).status_code == 204
    assert app_client.get(f"/api/v1/escalation-policies/{policy['id']}", headers=ADMIN).status_code == 404
    assert app_client.delete(f"/api/v1/escalation-policies/{policy['id']}", headers=ADMIN).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"steps": []}, "steps"),
        ({"repeat": 11}, "repeat"),
        ({"repeat": -1}, "repeat"),
        ({"repeat": 1.5}, "repeat"),
        ({"steps": [{"delay_minutes": -1, "targets": [{"type": "schedule", "id": "checkout-api"}]}]}, "steps"),
        ({"steps": [{"delay_minutes": 1, "targets": []}]}, "steps"),
        ({"steps": [{"delay_minutes": 1, "targets": [{"type": "pager", "id": "x"}]}]}, "steps"),
        ({"steps": [{"delay_minutes": 0, "targets": [{"type": "schedule", "id": "checkout-api"}]}], "repeat": 3}, "body"),
        ({"name": " "}, "name"),
    ],
)
def test_invalid_policies_are_422_and_store_nothing(app_client: TestClient, world: dict[str, str], change: dict, field: str) -> None:
    refused = app_client.post("/api/v1/escalation-policies", json=body(world, **change), headers=ADMIN)
    assert refused.status_code == 422, refused.text
    assert field in str(refused.json()["error"]["details"])
    assert app_client.get("/api/v1/escalation-policies", headers=ADMIN).json() == []


@pytest.mark.parametrize(
    ("target", "named"),
    [
        ({"type": "user", "id": str(uuid.uuid4())}, "user"),
        ({"type": "user", "id": "not-a-uuid"}, "user 'not-a-uuid'"),
        ({"type": "schedule", "id": "no-such-team"}, "schedule 'no-such-team'"),
        ({"type": "team", "id": "no-such-team"}, "team 'no-such-team'"),
    ],
)
def test_unknown_targets_are_422_naming_them(app_client: TestClient, world: dict[str, str], target: dict, named: str) -> None:
    steps = [{"delay_minutes": 1, "targets": [{"type": "schedule", "id": "checkout-api"}, target]}]
    refused = app_client.post("/api/v1/escalation-policies", json=body(world, steps=steps), headers=ADMIN)
    assert refused.status_code == 422, refused.text
    assert named in refused.json()["error"]["details"][0]["message"]
    assert "checkout-api" not in refused.json()["error"]["details"][0]["message"]
    created = app_client.post("/api/v1/escalation-policies", json=body(world), headers=ADMIN).json()
    put = app_client.put(f"/api/v1/escalation-policies/{created['id']}", json=body(world, steps=steps), headers=ADMIN)
    assert put.status_code == 422
    assert app_client.get(f"/api/v1/escalation-policies/{created['id']}", headers=ADMIN).json() == created


def test_a_name_or_a_team_has_one_policy(app_client: TestClient, world: dict[str, str]) -> None:
    first = app_client.post("/api/v1/escalation-policies", json=body(world), headers=ADMIN).json()
    assert app_client.post("/api/v1/escalation-policies", json=body(world, team="other"), headers=ADMIN).status_code == 409
    assert app_client.post("/api/v1/escalation-policies", json=body(world, name="second"), headers=ADMIN).status_code == 409
    second = app_client.post("/api/v1/escalation-policies", json=body(world, name="second", team="other"), headers=ADMIN).json()
    taken = app_client.put(f"/api/v1/escalation-policies/{second['id']}", json=body(world, name="second"), headers=ADMIN)
    assert taken.status_code == 409
    assert app_client.get(f"/api/v1/escalation-policies/{first['id']}", headers=ADMIN).json() == first
    assert (
        app_client.put(f"/api/v1/escalation-policies/{uuid.uuid4()}", json=body(world, name="x", team="x"), headers=ADMIN).status_code
        == 404
    )


def test_viewers_read_policies_and_only_admins_write_them(app_client: TestClient, world: dict[str, str]) -> None:
    tokens = {}
    for role in ("viewer", "responder"):
        user = app_client.post("/api/v1/users", json={"name": role, "email": f"{role}@example.org", "role": role}, headers=ADMIN).json()
        tokens[role] = {
            "Authorization": "Bearer "
            + app_client.post(f"/api/v1/users/{user['id']}/tokens", json={"name": "t"}, headers=ADMIN).json()["token"]
        }
    policy = app_client.post("/api/v1/escalation-policies", json=body(world), headers=ADMIN).json()
    assert app_client.get("/api/v1/escalation-policies").status_code == 401
    assert app_client.get("/api/v1/escalation-policies", headers=tokens["viewer"]).status_code == 200
    assert app_client.get(f"/api/v1/escalation-policies/{policy['id']}", headers=tokens["viewer"]).status_code == 200
    for role in ("viewer", "responder"):
        assert app_client.post("/api/v1/escalation-policies", json=body(world, name="x", team="x"), headers=tokens[role]).status_code == 403
        assert app_client.put(f"/api/v1/escalation-policies/{policy['id']}", json=body(world), headers=tokens[role]).status_code == 403
        assert app_client.delete(f"/api/v1/escalation-policies/{policy['id']}", headers=tokens[role]).status_code == 403
    assert app_client.get(f"/api/v1/escalation-policies/{policy['id']}", headers=ADMIN).json() == policy


def test_the_policies_branch_migrates_down_and_up(db_engine) -> None:
    migrations.upgrade(db_engine, "oncall")
    migrations.downgrade(db_engine, "oncall", "policies@base")
    assert "policies" not in inspect(db_engine).get_table_names(schema="oncall")
    assert "kind" not in {c["name"] for c in inspect(db_engine).get_columns("escalations", schema="oncall")}
    migrations.upgrade(db_engine, "oncall")
    with db_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM oncall.governed_teams")).scalar_one() == 0
