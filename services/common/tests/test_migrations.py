"""Every service's migrations go up, down and up again; concurrent upgrades are safe."""

import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import inspect

from platform_common import migrations
from platform_common.db import create_db_engine
from platform_local.stack import SERVICES
from tests.support.database import installed_packages


@pytest.fixture
def scratch_engine(database_url):
    """A separate empty database, so the shared test database keeps its schemas."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    name = f"migr_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_db_engine(url.set(database=name).render_as_string(hide_password=False), pool_size=4)
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.parametrize("package", installed_packages())
def test_upgrade_downgrade_upgrade(scratch_engine, package):
    migrations.upgrade(scratch_engine, package)
    tables = set(inspect(scratch_engine).get_table_names(schema=package))
    assert "alembic_version" in tables and len(tables) > 1
    migrations.downgrade(scratch_engine, package)
    assert set(inspect(scratch_engine).get_table_names(schema=package)) == {"alembic_version"}
    migrations.upgrade(scratch_engine, package)
    assert set(inspect(scratch_engine).get_table_names(schema=package)) == tables


def test_two_replicas_migrating_at_once_both_succeed(scratch_engine):
    """Two processes run the one-shot migration command at the same moment, as replicas would."""
    env = {**os.environ, "DATABASE_URL": scratch_engine.url.render_as_string(hide_password=False)}
    directories = {spec.package: spec.directory for spec in SERVICES}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "platform_common.migrate", package],
            cwd=directories[package],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for package in installed_packages() * 2
    ]
    outputs = [run.communicate(timeout=120)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0] * len(runs), outputs
    assert "incidents" in inspect(scratch_engine).get_table_names(schema="incident_management")
    assert "alerts" in inspect(scratch_engine).get_table_names(schema="alert_ingestion")
