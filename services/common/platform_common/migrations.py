"""Versioned schema migrations (Alembic), one schema per service, safe when replicas start together.

Each service keeps its revisions in `<package>/migrations/versions/` and a two-line `env.py` that calls
`run_env()`. The schema is named after the package. Upgrades hold a PostgreSQL advisory lock, so two
replicas starting at once migrate one after the other and the second finds nothing to do.
"""

from importlib import resources

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Connection, Engine, text


def _config(package: str, connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files(package) / "migrations"))
    config.attributes["connection"] = connection
    config.attributes["schema"] = package
    return config


def _run(engine: Engine, package: str, action, revision: str) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(hashtextextended(:key, 0))"), {"key": f"migrate:{package}"})
        try:
            action(_config(package, connection), revision)
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(hashtextextended(:key, 0))"), {"key": f"migrate:{package}"})
            connection.commit()


def upgrade(engine: Engine, package: str, revision: str = "heads") -> None:
    _run(engine, package, command.upgrade, revision)


def downgrade(engine: Engine, package: str, revision: str = "base") -> None:
    _run(engine, package, command.downgrade, revision)


def run_env() -> None:
    """Body of every service's `migrations/env.py`: migrate that service's schema online."""
    connection: Connection = context.config.attributes["connection"]
    schema: str = context.config.attributes["schema"]
    # Only when missing: even CREATE SCHEMA IF NOT EXISTS needs CREATE on the database, which a production
    # service role (database/roles.sh) does not have; it owns the schema made for it instead.
    if connection.execute(text("SELECT to_regnamespace(:schema)"), {"schema": schema}).scalar() is None:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    context.configure(connection=connection, version_table_schema=schema, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
