"""The production profile (README "Production profile", SPEC §9, §10), started for real without Docker.

A PostgreSQL server of its own with database/init.sql and database/roles.sh applied exactly as the
postgres image would, then the four services as real processes, each connected as its own database
role with production settings:
- the compose override validates, and resolves to production settings and one role per service;
- a service refuses to start with a local default or weak secret, or with anonymous access on;
- with proper secrets every service migrates and is ready, a request without credentials is 401, and
  an alert sent with an integration key becomes an incident (reads across schemas, through grants);
- a service's role can write and read only its own schema, plus the views published to it.
"""

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import errors
from sqlalchemy import Engine

from platform_common import migrations
from platform_common.db import create_db_engine
from platform_common.settings import DEFAULT_DATABASE_URL, KNOWN_LOCAL_SECRETS, LOCAL_DATABASE_PASSWORD, LOCAL_SERVICE_TOKEN
from platform_local.postgres import LocalPostgres
from platform_local.stack import SERVICES, SPECS, Stack, wait_healthy
from tests.delivery.test_delivery import compose_binary
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "incident_platform"
ROLES = [spec.package for spec in SERVICES]  # each service's role and schema are named after its package
# What each role may read outside its own schema: exactly the views published to it.
PUBLISHED_TO = {
    "alert_ingestion": {"incident_management.correlation_candidates", "oncall.principals"},
    "incident_management": {"alert_ingestion.incident_alerts", "oncall.principals", "oncall.governed_teams"},
    "oncall": {
        "incident_management.escalation_candidates",
        "alert_ingestion.audit_entries",
        "incident_management.audit_entries",
        "notification.audit_entries",
    },
    "notification": {"oncall.principals"},
}
READY_TIMEOUT = 90


def _secret() -> str:
    return secrets.token_hex(32)


def password_variable(role: str) -> str:
    return f"{role.upper()}_DB_PASSWORD"


@dataclass
class ProductionDatabase:
    server: LocalPostgres
    passwords: dict[str, str]

    def url(self, role: str, database: str = DATABASE, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{role}:{self.passwords[role]}@127.0.0.1:{self.server.port}/{database}"

    def admin(self, database: str = DATABASE) -> psycopg.Connection:
        return psycopg.connect(self.server.url(database, "postgresql"), autocommit=True)

    def apply_roles(self, database: str) -> subprocess.CompletedProcess:
        """database/roles.sh as the postgres image runs it, here over TCP as the superuser."""
        env = {
            **os.environ,
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.server.port),
            "PGPASSWORD": self.server.password,
            "POSTGRES_USER": self.server.user,
            "POSTGRES_DB": database,
            **{password_variable(role): password for role, password in self.passwords.items()},
        }
        return subprocess.run([ROOT / "database" / "roles.sh"], env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def production_db() -> Iterator[ProductionDatabase]:
    root = Path(tempfile.mkdtemp(prefix="platform-prod-pg-"))
    server = LocalPostgres(root, free_port(), durable=False, user="platform_admin", password=_secret())
    server.start()
    try:
        server.create_database(DATABASE, init_sql=ROOT / "database" / "init.sql")
        database = ProductionDatabase(server, {role: _secret() for role in ROLES})
        result = database.apply_roles(DATABASE)
        assert result.returncode == 0, result.stdout + result.stderr
        yield database
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def production_env() -> dict[str, str]:
    return {
        "ENVIRONMENT": "production",
        "ANONYMOUS_ROLE": "none",
        "SERVICE_TOKEN": _secret(),
        "BOOTSTRAP_ADMIN_TOKEN": _secret(),
        "BOOTSTRAP_ADMIN_EMAIL": "admin@example.org",
        "BOOTSTRAP_ADMIN_PASSWORD": _secret(),
        "PAGE_LINK_SECRET": _secret(),
        "PAGE_CHANNELS": '["mock"]',
        "ESCALATION_INTERVAL_SECONDS": "0.5",
    }


def service_stack(database: ProductionDatabase, name: str, ports: dict[str, int], log_dir: Path, env: dict[str, str]) -> Stack:
    """One service of the profile, connected as its own role; `ports` tells it where its peers are."""
    return Stack(database_url=database.url(SPECS[name].package), ports=ports, log_dir=log_dir, env=env)


@pytest.fixture(scope="module")
def production_stack(production_db: ProductionDatabase, production_env: dict[str, str], tmp_path_factory) -> Iterator[dict[str, Stack]]:
    """The four services, incident-management first: the views others' background cycles read are
    granted by its migrations, so no cycle races it (in compose a cycle that runs early just retries)."""
    log_dir = tmp_path_factory.mktemp("production-logs")
    ports = {spec.name: free_port() for spec in SERVICES}
    stacks = {spec.name: service_stack(production_db, spec.name, ports, log_dir, production_env) for spec in SERVICES}
    try:
        for wave in (["incident-management"], ["alert-ingestion", "oncall-service", "notification-service"]):
            for name in wave:
                stacks[name].launch(name)
            for name in wave:
                wait_healthy(name, stacks[name].processes[name], f"{stacks[name].url(name)}/ready", READY_TIMEOUT, log_dir / f"{name}.log")
        yield stacks
    finally:
        for name, stack in stacks.items():
            stack.stop(name)


# ---------------------------------------------------------------- compose
def compose_config(env_file: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [compose_binary(), "-f", "docker-compose.yml", "-f", "docker-compose.prod.yml", "--env-file", env_file, "config", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def filled_env_file(directory: Path, values: dict[str, str]) -> Path:
    """.env.production.example with every empty value filled in, as the README tells the operator."""
    lines = []
    for line in (ROOT / ".env.production.example").read_text().splitlines():
        name, equals, value = line.partition("=")
        if equals and not value and not name.startswith("#"):
            line = f"{name}={values.get(name, _secret())}"
        lines.append(line)
    path = directory / ".env.production"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_example_env_file_is_refused_until_every_secret_is_filled_in() -> None:
    result = compose_config(ROOT / ".env.production.example", "-q")
    assert result.returncode != 0
    assert "is missing a value" in result.stderr, result.stderr
    assert subprocess.run(["git", "check-ignore", "-q", ".env.production"], cwd=ROOT).returncode == 0, "the filled-in file stays out of git"


def test_compose_production_override_resolves_to_production_settings_and_one_role_per_service(tmp_path: Path) -> None:
    env_file = filled_env_file(tmp_path, {"BOOTSTRAP_ADMIN_EMAIL": "admin@example.org"})
    validated = compose_config(env_file, "-q")
    assert validated.returncode == 0, validated.stderr
    result = compose_config(env_file, "--format", "json")
    assert result.returncode == 0, result.stderr
    model = json.loads(result.stdout)
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line and not line.startswith("#"))
    for spec in SERVICES:
        environment = model["services"][spec.name]["environment"]
        assert environment["ENVIRONMENT"] == "production"
        assert environment["ANONYMOUS_ROLE"] == "none"
        assert environment["SERVICE_TOKEN"] == values["SERVICE_TOKEN"]
        role_password = values[password_variable(spec.package)]
        assert environment["DATABASE_URL"] == f"postgresql+psycopg://{spec.package}:{role_password}@database:5432/{values['POSTGRES_DB']}"
        assert not set(environment.values()) & KNOWN_LOCAL_SECRETS
    database = model["services"]["database"]
    assert {volume["target"] for volume in database["volumes"]} >= {"/docker-entrypoint-initdb.d/002-roles.sh"}
    assert all(database["environment"][password_variable(role)] == values[password_variable(role)] for role in ROLES)
    assert model["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == values["GRAFANA_ADMIN_PASSWORD"]


# ---------------------------------------------------------------- refusals
REFUSALS = {
    "local database password": ("alert-ingestion", {"DATABASE_URL": DEFAULT_DATABASE_URL}, "refuses the local default database password"),
    "anonymous admin": ("incident-management", {"ANONYMOUS_ROLE": "admin"}, "requires ANONYMOUS_ROLE=none"),
    "weak service token": ("notification-service", {"SERVICE_TOKEN": LOCAL_SERVICE_TOKEN}, "refuses SERVICE_TOKEN"),
    "short service token": ("alert-ingestion", {"SERVICE_TOKEN": "x" * 23}, "refuses SERVICE_TOKEN"),
    "weak bootstrap admin password": (
        "oncall-service",
        {"BOOTSTRAP_ADMIN_PASSWORD": LOCAL_DATABASE_PASSWORD},
        "refuses BOOTSTRAP_ADMIN_PASSWORD",
    ),
    "local page link secret": (
        "incident-management",
        {"PAGE_LINK_SECRET": "local-page-link-secret"},
        "refuses the local default PAGE_LINK_SECRET",
    ),
}


@pytest.mark.e2e
@pytest.mark.parametrize(("name", "override", "message"), REFUSALS.values(), ids=REFUSALS.keys())
def test_a_service_refuses_to_start_with_a_default_or_weak_secret_or_anonymous_access(
    production_db: ProductionDatabase, production_env: dict[str, str], tmp_path: Path, name: str, override: dict[str, str], message: str
) -> None:
    stack = service_stack(production_db, name, {name: free_port()}, tmp_path, {**production_env, **override})
    process = stack.launch(name)
    try:
        returncode = process.wait(timeout=60)
    finally:
        stack.stop(name)
    assert returncode != 0
    log = (tmp_path / f"{name}.log").read_text()
    assert message in log
    secret_values = [production_env[key] for key in ("SERVICE_TOKEN", "BOOTSTRAP_ADMIN_TOKEN", "BOOTSTRAP_ADMIN_PASSWORD")]
    assert not any(value[-8:] in log for value in [*secret_values, *production_db.passwords.values()]), "a secret leaked"


# ---------------------------------------------------------------- the profile running
def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.e2e
def test_production_services_refuse_anonymous_requests_and_turn_an_integration_alert_into_an_incident(
    production_stack: dict[str, Stack], production_env: dict[str, str], production_db: ProductionDatabase
) -> None:
    url = {name: stack.url(name) for name, stack in production_stack.items()}
    admin = bearer(production_env["BOOTSTRAP_ADMIN_TOKEN"])
    for name in url:
        assert httpx.get(f"{url[name]}/ready").status_code == 200, name
    with production_db.admin() as connection:
        # Each service is connected as its own role (the superuser only watches), and migrated its
        # schema including the grants branch.
        # Client sessions only: an autovacuum worker in the database shows there too, without a user.
        sessions = connection.execute(
            "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'",
            (DATABASE,),
        ).fetchall()
        assert {row[0] for row in sessions} == {*ROLES, production_db.server.user}
        for role in ROLES:
            versions = {row[0] for row in connection.execute(f"SELECT version_num FROM {role}.alembic_version").fetchall()}
            assert versions & {"grants_0001", "policies_grants_0001"}, role  # the head of the grants branch
    for name, path in {
        "alert-ingestion": "/api/v1/alerts",
        "incident-management": "/api/v1/incidents",
        "oncall-service": "/api/v1/schedules",
        "notification-service": "/api/v1/notifications",
    }.items():
        response = httpx.get(f"{url[name]}{path}")
        assert response.status_code == 401, (name, response.text)
        assert response.json()["error"]["code"] == "unauthenticated"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    alert = {"service": "checkout-api", "severity": "critical", "message": "checkout 5xx > 10%"}
    assert httpx.post(f"{url['alert-ingestion']}/api/v1/alerts", json=alert).status_code == 401

    me = httpx.get(f"{url['oncall-service']}/api/v1/auth/me", headers=admin)
    assert me.status_code == 200 and me.json()["role"] == "admin", me.text
    created = httpx.post(f"{url['oncall-service']}/api/v1/integrations", json={"name": "prometheus", "kind": "generic"}, headers=admin)
    assert created.status_code == 201, created.text
    key = bearer(created.json()["key"])

    # alert-ingestion authenticates the key through oncall.principals, correlates through
    # incident_management.correlation_candidates, and opens the incident with its service token.
    first = httpx.post(f"{url['alert-ingestion']}/api/v1/alerts", json=alert, headers=key)
    assert first.status_code == 201, first.text
    assert (first.json()["status"], first.json()["action"]) == ("correlated", "new_incident")
    second = httpx.post(f"{url['alert-ingestion']}/api/v1/alerts", json=alert, headers=key)
    assert second.status_code == 201, second.text
    assert second.json()["action"] == "attached_to_existing_incident"
    assert second.json()["incident_id"] == first.json()["incident_id"]

    # incident-management shows the incident's alerts through alert_ingestion.incident_alerts.
    incident = httpx.get(f"{url['incident-management']}/api/v1/incidents/{first.json()['incident_id']}", headers=admin)
    assert incident.status_code == 200, incident.text
    assert incident.json()["service"] == "checkout-api"
    assert {a["alert_id"] for a in incident.json()["alerts"]} == {first.json()["alert_id"], second.json()["alert_id"]}

    # oncall-service reads every service's audit_entries view; the intake is there, by the integration.
    entries = wait_for_audit(url["oncall-service"], admin, lambda entry: entry["service"] == "alert-ingestion" and entry["status"] == 201)
    assert entries and all(entry["actor"] != "unauthenticated" for entry in entries)

    # The background cycles (correlation retries, pages, escalation, deliveries) read through the same
    # grants: none of them met a permission error, and every service is still ready.
    for name, stack in production_stack.items():
        assert "permission denied" not in (stack.log_dir / f"{name}.log").read_text(), name
        assert httpx.get(f"{url[name]}/ready").status_code == 200, name


def wait_for_audit(oncall_url: str, headers: dict[str, str], matches, timeout: float = 30) -> list[dict]:
    """Audit entries are written in batches every half second: poll GET /api/v1/audit until one matches."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{oncall_url}/api/v1/audit", params={"limit": 100}, headers=headers)
        assert response.status_code == 200, response.text
        found = [entry for entry in response.json() if matches(entry)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


# ---------------------------------------------------------------- database roles
def readable_elsewhere(connection: psycopg.Connection, role: str) -> set[str]:
    """Relations outside `role`'s own schema that it may SELECT (on a schema it has USAGE on)."""
    rows = connection.execute(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = ANY(%s) AND n.nspname <> %s AND c.relkind IN ('r', 'v', 'm', 'p', 'f') "
        "AND has_table_privilege(%s, c.oid, 'SELECT') AND has_schema_privilege(%s, n.oid, 'USAGE')",
        (ROLES, role, role, role),
    ).fetchall()
    return {row[0] for row in rows}


def writable_elsewhere(connection: psycopg.Connection, role: str) -> set[str]:
    rows = connection.execute(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = ANY(%s) AND n.nspname <> %s AND c.relkind IN ('r', 'v', 'm', 'p', 'f') "
        "AND has_table_privilege(%s, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')",
        (ROLES, role, role),
    ).fetchall()
    creatable = connection.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname <> %s AND has_schema_privilege(%s, oid, 'CREATE')", (role, role)
    ).fetchall()
    return {row[0] for row in rows} | {row[0] for row in creatable}


@pytest.mark.e2e
@pytest.mark.parametrize("role", ROLES)
def test_a_service_role_reads_only_the_views_published_to_it_and_writes_only_its_own_schema(
    production_stack: dict[str, Stack], production_db: ProductionDatabase, role: str
) -> None:
    with production_db.admin() as admin:
        assert readable_elsewhere(admin, role) == PUBLISHED_TO[role]
        assert writable_elsewhere(admin, role) == set()
        assert admin.execute("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = %s", (role,)).fetchone()[0] == role
        # A simple view is updatable through: only the missing privilege stops a write through it.
        updatable_views = admin.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.views "
            "WHERE is_updatable = 'YES' AND table_schema || '.' || table_name = ANY(%s)",
            (list(PUBLISHED_TO[role]),),
        ).fetchall()
        foreign_tables = admin.execute(
            "SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname = ANY(%s) AND schemaname <> %s", (ROLES, role)
        ).fetchall()
    assert len(foreign_tables) > 10
    other = next(schema for schema in ROLES if schema != role)
    with psycopg.connect(production_db.url(role, driver="postgresql"), autocommit=True) as connection:
        for view in PUBLISHED_TO[role]:
            connection.execute(f"SELECT count(*) FROM {view}").fetchone()
        for (view,) in updatable_views:
            with pytest.raises(errors.InsufficientPrivilege):
                connection.execute(f"DELETE FROM {view}")
        for (table,) in foreign_tables:
            with pytest.raises(errors.InsufficientPrivilege):
                connection.execute(f"SELECT 1 FROM {table} LIMIT 1")
        for statement in (
            f"CREATE TABLE {other}.sneaky (id int)",
            f"CREATE SCHEMA {role}_extra",
            "CREATE TEMPORARY TABLE scratch (id int)",
            "CREATE TABLE public.sneaky (id int)",
        ):
            with pytest.raises(errors.InsufficientPrivilege):
                connection.execute(statement)
        connection.execute(f"CREATE TABLE {role}.own_scratch (id int)")
        connection.execute(f"DROP TABLE {role}.own_scratch")


@pytest.mark.e2e
def test_grants_follow_the_migrations_up_down_and_up_again(production_db: ProductionDatabase) -> None:
    """In a fresh database of the same server: each role migrates its own schema; downgrading the
    `grants` branch takes every cross-schema right away again, upgrading brings back exactly the same."""
    database = "grants_scratch"
    with production_db.admin("postgres") as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    engines: dict[str, Engine] = {}
    try:
        result = production_db.apply_roles(database)
        assert result.returncode == 0, result.stdout + result.stderr
        engines = {role: create_db_engine(production_db.url(role, database), pool_size=1) for role in ROLES}
        with production_db.admin(database) as admin:
            for role, engine in engines.items():
                migrations.upgrade(engine, role)
            assert {role: readable_elsewhere(admin, role) for role in ROLES} == PUBLISHED_TO
            for role, engine in engines.items():
                migrations.downgrade(engine, role, "grants@base")
            assert {role: readable_elsewhere(admin, role) for role in ROLES} == {role: set() for role in ROLES}
            usage = admin.execute(
                "SELECT count(*) FROM pg_namespace n, unnest(%s::text[]) AS r(role) "
                "WHERE n.nspname = ANY(%s) AND n.nspname <> r.role AND has_schema_privilege(r.role, n.oid, 'USAGE')",
                (ROLES, ROLES),
            ).fetchone()[0]
            assert usage == 0
            for role, engine in engines.items():
                migrations.upgrade(engine, role)
            assert {role: readable_elsewhere(admin, role) for role in ROLES} == PUBLISHED_TO
    finally:
        for engine in engines.values():
            engine.dispose()
        with production_db.admin("postgres") as admin:
            admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
