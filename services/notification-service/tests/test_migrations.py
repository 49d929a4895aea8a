"""The schema migrations go up, down and up again cleanly (as a rollback and a redeploy would)."""

from sqlalchemy import inspect

from platform_common import migrations

OWN_TABLES = {"notifications", "notification_attempts", "timeline_reports"}


def _tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names(schema="notification")) - {"alembic_version"}


def _columns(engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("notifications", schema="notification")}


def test_upgrade_downgrade_upgrade(db_engine, clean_db):
    assert OWN_TABLES <= _tables(db_engine)
    assert {"failing_since", "fallbacks", "fallback_of"} <= _columns(db_engine)
    migrations.downgrade(db_engine, "notification")
    assert _tables(db_engine) == set()
    migrations.upgrade(db_engine, "notification")
    migrations.upgrade(db_engine, "notification")  # a second replica finds nothing to do
    assert OWN_TABLES <= _tables(db_engine)
    assert "failing_since" in _columns(db_engine)
