"""SQLite driven synchronously on the event loop's own thread.

SQLAlchemy's aiosqlite dialect runs every statement on aiosqlite's helper thread and hands
the result back through the event loop, so each statement waits a full turn of the loop. Under
load that turn, not SQLite, dominates: a write transaction of six statements holds the single
writer connection for milliseconds and caps the whole process at a few hundred transactions
per second. SQLite itself answers these statements in tens of microseconds, so they run here,
inline, as plain `sqlite3` calls: the adapter below keeps the dialect (the async engine and
sessions are unchanged) but its cursor calls the driver directly instead of awaiting a
coroutine per call (a greenlet switch each way, several per statement: about a fifth of the
ORM's cost of a simple statement).

One wait remains that SQLite would otherwise do on the caller's thread: a write
transaction's `BEGIN IMMEDIATE` while another *process* (a `chorus worker`, a `chorus project
create` against the running server's file) holds the write lock. SQLite's own busy handler
would sleep there with the whole event loop stopped, and with it every request of the process
— including, possibly, the one the other process is waiting for. So write connections open
with no busy timeout, and a refused `BEGIN` is retried here after an `asyncio.sleep` (awaited
from the session's greenlet), up to `LOCK_WAIT`: the loop serves others meanwhile.

The cursor also opens transactions itself: a statement that finds its connection outside a
transaction is preceded by the engine's `BEGIN` (`BEGIN IMMEDIATE` for writers). SQLAlchemy
would emit it as a statement of its own, through its whole execution path, once per
transaction; SQLite needs nothing but the word. Connection settings (`PRAGMA`s, some of which
only work outside a transaction) are applied when the connection opens, before any of this.
"""

import asyncio
import collections
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

LOCK_WAIT = 30.0  # seconds a transaction waits for another process's write lock
# Seconds between tries, doubling. Another process's write transaction lasts a millisecond
# or two: a waiter that slept longer would leave the lock unused (a try costs microseconds).
FIRST_RETRY, LAST_RETRY = 0.0005, 0.002


def _begin_refused(exc: sqlite3.OperationalError, operation: str) -> bool:
    """A `BEGIN` that found the database locked: nothing was done, so it can be retried."""
    return operation.startswith("BEGIN") and exc.sqlite_errorcode == sqlite3.SQLITE_BUSY


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection object without its thread: it only opens and closes the
    `sqlite3` connection, which `InlineCursor` then drives directly."""

    begin_statement = "BEGIN"

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        # aiosqlite's own methods, should anything call them: inline too (there is no
        # thread to hand them to).
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> "InlineConnection":
        if self._connection is None:
            self._connection = self._connector()
        return self

    def stop(self) -> None:  # type: ignore[override]
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()


class InlineCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's adapted cursor, calling `sqlite3` directly. Results are fetched whole at
    execute, as the adapter it replaces does."""

    __slots__ = ()
    _awaitable_cursor_close = False

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        raw = self._connection._connection
        if raw is None:
            raise sqlite3.OperationalError("Connection closed")
        self._cursor = raw.cursor()
        self._soft_closed_memoized = {}
        self._rows = collections.deque()

    def execute(self, operation: Any, parameters: Any = None) -> None:
        cursor = self._cursor
        self._in_transaction()
        cursor.execute(operation, () if parameters is None else parameters)
        if cursor.description:
            self._rows = collections.deque(cursor.fetchall())
        await_(_TURN)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> None:
        self._in_transaction()
        self._cursor.executemany(operation, seq_of_parameters)
        await_(_TURN)

    def _in_transaction(self) -> None:
        """Open the connection's transaction unless one is open."""
        if self._cursor.connection.in_transaction:
            return
        operation = self._connection.begin_statement
        try:
            self._cursor.execute(operation)
        except sqlite3.OperationalError as exc:
            if not _begin_refused(exc, operation):
                raise
            _retry_begin(self._cursor, operation)

    def close(self) -> None:
        self._rows.clear()
        self._cursor.close()


class _Turn:
    """An awaitable that completes at once. SQLAlchemy's `AsyncConnection.execute` insists
    that a statement awaited something (it guards against synchronous drivers): one such
    hand-off per statement, instead of the several of a coroutine per driver call."""

    def __await__(self) -> Any:
        return iter(())


_TURN = _Turn()


def _retry_begin(cursor: sqlite3.Cursor, operation: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOCK_WAIT
    delay = FIRST_RETRY
    while True:
        await_(asyncio.sleep(delay))
        try:
            cursor.execute(operation)
            return
        except sqlite3.OperationalError as exc:
            if not _begin_refused(exc, operation) or loop.time() >= deadline:
                raise
        delay = min(delay * 2, LAST_RETRY)


class InlineAdaptedConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = InlineCursor

    def commit(self) -> None:
        if self._connection._connection is not None:
            self._connection._connection.commit()

    def rollback(self) -> None:
        if self._connection._connection is not None:
            self._connection._connection.rollback()


class InlineDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The dialect's DBAPI module (`create_async_engine(module=...)`), connecting through
    `async_creator` and adapting with `InlineAdaptedConnection`."""

    def connect(self, *args: Any, **kwargs: Any) -> InlineAdaptedConnection:
        open_connection = kwargs.pop("async_creator_fn")
        return InlineAdaptedConnection(self, await_(open_connection(*args, **kwargs)))


def engine_options(
    path: str, *, begin: str, settings: Callable[[sqlite3.Connection], None]
) -> dict[str, Any]:
    """`create_async_engine` options for an inline SQLite store at `path`: transactions open
    with `begin`; `settings` is applied to each new connection."""
    return {
        "async_creator": creator(path, begin, settings),
        "module": InlineDBAPI(aiosqlite, sqlite3),
    }


def creator(
    path: str, begin: str, settings: Callable[[sqlite3.Connection], None]
) -> Callable[[], Any]:
    """An `async_creator` for `create_async_engine` opening `path`."""

    def open_sqlite() -> sqlite3.Connection:
        # No transaction control by the driver: the cursor emits BEGIN.
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        settings(connection)
        return connection

    async def connect() -> InlineConnection:
        connection = InlineConnection(open_sqlite, 64)
        connection.begin_statement = begin
        return await connection._connect()

    return connect
