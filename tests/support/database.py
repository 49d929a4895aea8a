"""Test database: every service schema migrated; `reset` empties every table between tests."""

import importlib.util
from importlib import resources

from sqlalchemy import Engine, text

from platform_common import migrations

SERVICE_PACKAGES = ("incident_management", "alert_ingestion", "oncall", "notification")


def installed_packages() -> list[str]:
    """Service packages with migrations in this checkout (services arrive one issue at a time)."""
    found = []
    for name in SERVICE_PACKAGES:
        if importlib.util.find_spec(name) is not None and (resources.files(name) / "migrations" / "versions").is_dir():
            found.append(name)
    return found


def migrate_all(engine: Engine) -> None:
    for package in installed_packages():
        migrations.upgrade(engine, package)


def reset(engine: Engine) -> None:
    with engine.begin() as connection:
        tables = (
            connection.execute(
                text(
                    "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
                    "WHERE schemaname = ANY(:schemas) AND tablename <> 'alembic_version'"
                ),
                {"schemas": list(SERVICE_PACKAGES)},
            )
            .scalars()
            .all()
        )
        if tables:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
