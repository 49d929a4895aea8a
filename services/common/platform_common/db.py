"""Database engine, the per-request session dependency and coordination helpers."""

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Annotated

import psycopg
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from psycopg.types.array import ListBinaryDumper
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)


def create_db_engine(database_url: str, *, pool_size: int = 10) -> Engine:
    """An engine with a fixed pool: under load requests queue for a connection instead of opening and
    closing overflow connections (a new PostgreSQL connection costs far more than the wait). A database
    restart invalidates the pool on the first failed statement (that request answers 503); there is no
    per-checkout ping, which would cost a round trip each."""
    engine = create_engine(database_url, pool_size=pool_size, max_overflow=0, pool_timeout=10, pool_recycle=1800)
    event.listen(engine, "connect", lambda connection, _record: lists_as_binary_arrays(connection))
    return engine


def lists_as_binary_arrays(connection: psycopg.Connection | psycopg.AsyncConnection) -> None:
    """A list parameter (the array inserts of `platform_common.arrays`) goes to the server as a binary
    array: psycopg's text format escapes every element in Python, 5-13 times slower for UUIDs and
    timestamps. A list with no typed element (empty, or only None) is still sent as text."""
    connection.adapters.register_dumper(list, ListBinaryDumper)


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}


def autocommit(session: Session) -> None:
    """From now on each of the session's statements commits by itself: no BEGIN, COMMIT or ROLLBACK round
    trips. For a single statement (atomic by itself) or reads; checks a connection out now."""
    session.connection(execution_options=AUTOCOMMIT)


@contextmanager
def autocommitted(engine: Engine) -> Iterator[Connection]:
    """A connection whose every statement commits by itself (`autocommit`): for reads, or one statement."""
    with engine.connect() as connection:
        connection.execution_options(**AUTOCOMMIT)
        yield connection


def create_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reads only, on the engine's pool in autocommit, each checking its connection out at its
    first statement. PostgreSQL's READ COMMITTED gives each statement of a transaction its own snapshot,
    so a read sees exactly what it would in one; it saves the BEGIN and the ROLLBACK of a transaction
    that writes nothing, and leaves nothing to roll back when the session closes."""
    return create_session_factory(engine.execution_options(**AUTOCOMMIT))


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; the service layer commits, anything left open is rolled back. That
    rollback runs once the response is on its way, so a database lost meanwhile (a restart) is only
    logged: raising there would reset the client's connection.

    Opening a session does no I/O, so it happens on the event loop, and so does closing one whose work
    was committed; only a session left in a transaction is closed in a worker thread (its rollback is a
    round trip). A sync route's request makes one or two thread hops, not three."""
    session = request.app.state.session_factory()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(_close, session)
        else:
            _close(session)


def _close(session: Session) -> None:
    try:
        session.close()
    except DBAPIError as exc:
        logger.warning("request session closed on a lost database connection: %s", exc.orig)


SessionDep = Annotated[Session, Depends(get_session)]


async def get_read_session(request: Request) -> AsyncIterator[Session]:
    """The session of a route that only reads (`create_read_session_factory`): with nothing to roll back it always
    closes on the event loop, so a sync read route's request makes one thread hop."""
    session = request.app.state.read_session_factory()
    try:
        yield session
    finally:
        _close(session)


ReadSessionDep = Annotated[Session, Depends(get_read_session)]


def advisory_xact_lock(session: Session, key: str) -> None:
    """Serialise work on `key` across every replica until the current transaction ends."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


def database_is_ready(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - readiness reports any failure to reach the database as "not ready"
        return False
    return True
