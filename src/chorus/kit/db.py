"""The store: one code path for SQLite and PostgreSQL.

Dialect differences live here and nowhere else:
- SQLite runs in WAL mode with `synchronous=NORMAL` and a busy timeout. Write transactions
  start with `BEGIN IMMEDIATE` on a dedicated single-connection engine, so writers queue in
  the pool instead of failing on a lock upgrade; reads use a second engine with plain
  deferred transactions and see committed snapshots concurrently.
- PostgreSQL uses one pooled engine for both.
Services never commit: the request edge (`write_session`) or the job runner does.

Statements: those that run for every message (or every callback, report…) are built once, at
import, with `bindparam`s: a statement built per call has its cache key computed anew each
time, which costs the ORM about as much as running a simple prebuilt statement on SQLite.
"""

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy.exc
from fastapi import Depends
from sqlalchemy import DateTime, MetaData, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator
from starlette.requests import Request

from chorus.kit.sqlite_inline import engine_options

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both engines (SQLite stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_settings(*, writer: bool) -> Callable[[sqlite3.Connection], None]:
    def apply(connection: sqlite3.Connection) -> None:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        # Writers wait for another process's lock without stopping the event loop
        # (kit.sqlite_inline); readers in WAL mode practically never wait.
        connection.execute(f"PRAGMA busy_timeout={0 if writer else 30000}")
        connection.execute("PRAGMA foreign_keys=ON")
        # Checkpoints run on a thread of their own (`checkpoint_wal`), not inside a commit on
        # the event loop, where they would stall every request for their duration.
        connection.execute("PRAGMA wal_autocheckpoint=0")

    return apply


# Errors that say the database cannot be reached or used right now (worth a retry), rather
# than that a statement is wrong: asyncpg's connection errors reach us unwrapped
# (ConnectionError, TimeoutError); wrapped ones say so by SQLSTATE (PostgreSQL: 08
# connection, 53 resources, 57P operator intervention) or by SQLite's message.
ERRORS_TO_SORT: tuple[type[Exception], ...] = (
    sqlalchemy.exc.DBAPIError,
    sqlalchemy.exc.TimeoutError,
    ConnectionError,
    TimeoutError,
)
_SQLSTATE_CLASSES = ("08", "53", "57P")
_SQLITE_MESSAGES = (
    "database is locked",
    "database table is locked",
    "disk i/o error",
    "unable to open database file",
    "database or disk is full",
)


def unavailable(exc: BaseException) -> bool:
    if isinstance(exc, (ConnectionError, TimeoutError, sqlalchemy.exc.TimeoutError)):
        return True
    if not isinstance(exc, sqlalchemy.exc.DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, sqlalchemy.exc.InterfaceError):
        return True
    original = exc.orig
    if isinstance(original, sqlite3.Error):
        return str(original).lower().startswith(_SQLITE_MESSAGES)
    state = getattr(original, "sqlstate", None) or getattr(original.__cause__, "sqlstate", None)
    return isinstance(state, str) and state.startswith(_SQLSTATE_CLASSES)


# PostgreSQL gave up one of two transactions that waited on each other (deadlock) or could not
# be serialised: nothing of it was written, and the same request again will most likely pass.
_CONFLICT_STATES = ("40P01", "40001")


def conflicted(exc: BaseException) -> bool:
    if not isinstance(exc, sqlalchemy.exc.DBAPIError):
        return False
    original = exc.orig
    state = getattr(original, "sqlstate", None) or getattr(original.__cause__, "sqlstate", None)
    return state in _CONFLICT_STATES


T = TypeVar("T")


async def retry_conflicts(
    session: AsyncSession, work: Callable[[], Awaitable[T]], *, attempts: int = 3
) -> T:
    """Run `work` in a savepoint; when PostgreSQL makes it a deadlock's victim, roll back to
    the savepoint (which releases what `work` locked, so the other transaction goes on) and
    run it again. For deletes that cascade over rows workers lock in another order; the
    last conflict goes up (409 ABORTED)."""
    for _ in range(attempts - 1):
        try:
            async with session.begin_nested():
                return await work()
        except sqlalchemy.exc.DBAPIError as error:
            if not conflicted(error):
                raise
    async with session.begin_nested():
        return await work()


def describe_unavailable(exc: Exception) -> str:
    """One line for the log."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:300]


def log_failure(log: logging.Logger, what: str, exc: Exception) -> None:
    """A background step that failed: one line while the database is unavailable (it will
    be tried again), the traceback otherwise."""
    if unavailable(exc):
        log.warning("%s: the database is unavailable: %s", what, describe_unavailable(exc))
    else:
        log.warning("%s failed", what, exc_info=exc)


@dataclass
class Database:
    """The engines and session factories of one process."""

    url: str
    write_engine: AsyncEngine
    read_engine: AsyncEngine
    write_sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()


class DatabaseUnusable(Exception):
    """A starting process cannot use its database: it did not answer within the wait, or it
    refused (a wrong password, a database that does not exist)."""


async def wait_for_database(engine: AsyncEngine, seconds: float, log: logging.Logger) -> None:
    """Return once the database answers. A server started beside its database (a container
    next to PostgreSQL's) waits for it, a line in the log every second, rather than failing
    at once; what is not about reaching it fails at once. SQLite is a file: never waited."""
    url = engine.url.set(drivername=engine.url.get_backend_name())
    where = url.render_as_string(hide_password=True)
    deadline = time.monotonic() + (seconds if engine.dialect.name == "postgresql" else 0)
    while True:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            return
        except (*ERRORS_TO_SORT, OSError) as error:
            reason = describe_unavailable(_driver_error(error))
            waiting = unavailable(error) or isinstance(error, OSError)
            if not waiting or time.monotonic() >= deadline:
                raise DatabaseUnusable(f"the database at {where}: {reason}") from error
            log.warning("the database at %s does not answer yet (%s); trying again", where, reason)
            await asyncio.sleep(1)


def _driver_error(error: BaseException) -> BaseException:
    """The driver's own exception under SQLAlchemy's wrappers (asyncpg's names the problem:
    `InvalidCatalogNameError: database "x" does not exist`)."""
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.orig is not None:
        return error.orig.__cause__ or error.orig
    return error


def connect(url: str, *, pool_size: int = 10) -> Database:
    if is_sqlite(url):
        path = url.split(":///", 1)[1]
        # One writer connection: writers queue for it in the pool instead of failing on a
        # lock upgrade; readers have their own. Both run inline (kit.sqlite_inline).
        write_engine = create_async_engine(
            url,
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            **engine_options(path, begin="BEGIN IMMEDIATE", settings=_sqlite_settings(writer=True)),
        )
        # Readers' connections stay open (an overflow connection is closed when returned, and
        # opening one costs more than most reads): enough for the worker's concurrent jobs
        # and the API's requests.
        read_engine = create_async_engine(
            url,
            pool_size=16,
            max_overflow=16,
            **engine_options(path, begin="BEGIN", settings=_sqlite_settings(writer=False)),
        )
    else:
        # A fixed number of connections, kept open: a job or request waits its turn for one
        # rather than opening one of its own, which cost more than the wait (a TLS handshake
        # and every statement prepared anew; end to end a third of the messages when the
        # worker's jobs outnumbered the pool), and a deployment's connections are processes
        # times `pool_size`, whatever the load. So nothing may hold a connection while it
        # waits for another, or for a party that needs one (a channel simulated by this same
        # server): with every connection taken, that wait ends only at the pool's timeout
        # (tests/integration/test_reliability.py, a server with one connection).
        write_engine = read_engine = create_async_engine(
            url, pool_size=pool_size, max_overflow=0, pool_pre_ping=True
        )
    return Database(
        url=url,
        write_engine=write_engine,
        read_engine=read_engine,
        write_sessions=async_sessionmaker(write_engine, expire_on_commit=False),
        read_sessions=async_sessionmaker(read_engine, expire_on_commit=False),
    )


def database(request: Request) -> Database:
    return request.app.state.db


async def write_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed when the route returns and before the
    response is sent: what the API acknowledges is on disk, with the jobs it queued."""
    async with database(request).write_sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with database(request).read_sessions() as session:
        yield session


# Route parameters: `session: AsyncSession = WriteSession` commits before the response.
WriteSession = Depends(write_session, scope="function")
ReadSession = Depends(read_session)


def insert_ignoring_conflicts(session: AsyncSession, table: Any, values: dict[str, Any]) -> Any:
    """INSERT … ON CONFLICT DO NOTHING, spelled for the session's database."""
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).values(**values).on_conflict_do_nothing()


def upsert(session: AsyncSession, table: Any, values: dict[str, Any], *, key: list[str]) -> Any:
    """INSERT … ON CONFLICT (`key`) DO UPDATE the other given columns, spelled for the
    session's database."""
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table).values(**values)
    return statement.on_conflict_do_update(
        index_elements=key,
        set_={column: statement.excluded[column] for column in values if column not in key},
    )


async def lock_name(session: AsyncSession, name: str) -> None:
    """Serialise transactions over one name until this transaction ends: a PostgreSQL
    advisory lock (SQLite serialises its writers anyway). For find-or-create on values that
    have no unique constraint, such as a channel identity (held by several contacts at will,
    API.md Decision 2)."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name}
        )


async def notify_at_commit(session: AsyncSession, channel: str) -> None:
    """PostgreSQL: `NOTIFY channel` when this transaction commits (listeners in other
    processes wake). SQLite has no other process to tell."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


# Past this size the write-ahead log is folded back and truncated even if writers must wait
# a moment for readers: a PASSIVE checkpoint never shrinks the file, and under steady load
# some reader always holds a snapshot when a writer could start the log over, so the file
# only grew (614 MB after 2,300 messages end to end).
WAL_LIMIT_BYTES = 64 * 1024 * 1024
# How long a truncating checkpoint waits for readers on older snapshots (writers wait too).
WAL_TRUNCATE_WAIT = 0.1


def fold_wal(path: str, *, limit: int = WAL_LIMIT_BYTES, wait: float = WAL_TRUNCATE_WAIT) -> None:
    """Copy the write-ahead log's pages into the database file; then, when the log has grown
    past `limit`, truncate it. Blocking: run it on a thread."""
    connection = sqlite3.connect(path, timeout=wait)
    try:
        # The copy first, blocking no one; the truncation then has only what was written
        # meanwhile to copy while writers wait.
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        wal = f"{path}-wal"
        if os.path.exists(wal) and os.path.getsize(wal) > limit:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


async def checkpoint_wal(db: Database, stop: Any, every: float = 1.0) -> None:
    """SQLite: fold the write-ahead log back into the database file regularly, from a
    separate connection on a worker thread (`fold_wal`)."""
    if db.dialect != "sqlite":
        return
    path = db.url.split(":///", 1)[1]
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
        with contextlib.suppress(sqlite3.Error):  # busy now: the next round will do it
            await asyncio.to_thread(fold_wal, path)
