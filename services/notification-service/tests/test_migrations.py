"""The schema migrations go up, down and up again cleanly (as a rollback and a redeploy would)."""

from sqlalchemy import inspect

from platform_common import migrations


def _tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names(schema="notification")) - {"alembic_version"}


def test_upgrade_downgrade_upgrade(db_engine, clean_db):
    assert _tables(db_engine) == {"notifications", "notification_attempts"}
    migrations.downgrade(db_engine, "notification")
    assert _tables(db_engine) == set()
    migrations.upgrade(db_engine, "notification")
    migrations.upgrade(db_engine, "notification")  # a second replica finds nothing to do
    assert _tables(db_engine) == {"notifications", "notification_attempts"}
