"""Every service's migrations go up, down and up again; concurrent upgrades are safe."""

import os
import subprocess
import sys

import pytest
from sqlalchemy import inspect

from platform_common import migrations
from platform_local.stack import SERVICES
from tests.support.database import installed_packages


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
