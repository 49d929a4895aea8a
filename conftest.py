"""Session-wide test fixtures: a throwaway PostgreSQL server with every service schema migrated.

Set TEST_DATABASE_URL to use an existing (empty) database instead of starting a server.
"""

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from platform_common.db import create_db_engine
from platform_local.postgres import LocalPostgres
from tests.support import database
from tests.support.servers import free_port

ROOT = Path(__file__).parent


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    # Not under pytest's tmp_path: concurrent pytest sessions prune each other's numbered folders.
    root = Path(tempfile.mkdtemp(prefix="platform-test-pg-"))
    server = LocalPostgres(root, free_port(), durable=False)
    server.start()
    try:
        url = server.create_database("platform_test", init_sql=ROOT / "database" / "init.sql")
        engine = create_db_engine(url, pool_size=1)
        database.migrate_all(engine)
        engine.dispose()
        yield url
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url, pool_size=5)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_db(db_engine: Engine) -> Engine:
    """An empty database (all tables truncated) for a test that needs isolation."""
    database.reset(db_engine)
    return db_engine


@pytest.fixture
def scratch_engine(database_url: str) -> Iterator[Engine]:
    """A separate empty database of the same server, for a test that migrates schemas up and down."""
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
