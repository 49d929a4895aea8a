"""The oncall schema migrates up, down and up again; the on-call gauge survives a database outage."""

from sqlalchemy import inspect

from oncall.metrics import OnCallCollector
from platform_common import migrations
from platform_common.clock import utcnow
from platform_common.db import create_db_engine, create_session_factory
from tests.support.servers import free_port

TABLES = {"schedules", "schedule_members", "overrides", "escalation_policies", "escalations"}


def test_upgrade_downgrade_upgrade(db_engine):
    migrations.upgrade(db_engine, "oncall")
    assert TABLES <= set(inspect(db_engine).get_table_names(schema="oncall"))
    migrations.downgrade(db_engine, "oncall")
    assert not TABLES & set(inspect(db_engine).get_table_names(schema="oncall"))
    migrations.upgrade(db_engine, "oncall")
    assert TABLES <= set(inspect(db_engine).get_table_names(schema="oncall"))


def test_the_on_call_gauge_is_skipped_while_the_database_is_down():
    engine = create_db_engine(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none", pool_size=1)
    try:
        assert list(OnCallCollector(create_session_factory(engine), utcnow).collect()) == []
    finally:
        engine.dispose()
