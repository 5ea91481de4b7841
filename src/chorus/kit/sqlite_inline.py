"""SQLite driven on the event loop's own thread.

aiosqlite runs every statement on a helper thread and hands the result back through the
event loop, so each statement waits a full turn of the loop. Under load that turn, not
SQLite, dominates: a write transaction of six statements holds the single writer
connection for milliseconds and caps the whole process at a few hundred transactions per
second. SQLite itself answers these statements in tens of microseconds, so running them
inline costs the loop less than the hand-offs did.

This keeps aiosqlite's connection API (SQLAlchemy's aiosqlite dialect drives it, through
`create_async_engine(..., async_creator=...)`) and replaces only the thread. One wait
remains that SQLite would otherwise do on the caller's thread: a write transaction's
`BEGIN IMMEDIATE` while another *process* (a `chorus worker`, a `chorus project create`
against the running server's file) holds the write lock. SQLite's own busy handler would
sleep there with the whole event loop stopped, and with it every request of the process —
including, possibly, the one the other process is waiting for. So write connections open
with no busy timeout, and a refused `BEGIN` is retried here after an `asyncio.sleep`, up to
`LOCK_WAIT`: the loop serves others meanwhile.
"""

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any

import aiosqlite

LOCK_WAIT = 30.0  # seconds a transaction waits for another process's write lock
# Seconds between tries, doubling. Another process's write transaction lasts a millisecond
# or two: a waiter that slept longer would leave the lock unused (a try costs microseconds).
FIRST_RETRY, LAST_RETRY = 0.0005, 0.002


def _begin_refused(exc: sqlite3.OperationalError, args: tuple[Any, ...]) -> bool:
    """A `BEGIN` that found the database locked: nothing was done, so it can be retried."""
    return (
        bool(args)
        and isinstance(args[0], str)
        and args[0].startswith("BEGIN")
        and exc.sqlite_errorcode == sqlite3.SQLITE_BUSY
    )


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run inline instead of on a helper thread."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        try:
            return fn(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if not _begin_refused(exc, args):
                raise
        return await self._retry_begin(fn, *args, **kwargs)

    async def _retry_begin(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOCK_WAIT
        delay = FIRST_RETRY
        while True:
            await asyncio.sleep(delay)
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                if not _begin_refused(exc, args) or loop.time() >= deadline:
                    raise
            delay = min(delay * 2, LAST_RETRY)

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


def creator(path: str) -> Callable[[], Any]:
    """An `async_creator` for `create_async_engine` opening `path`."""

    async def connect() -> InlineConnection:
        connection = InlineConnection(
            lambda: sqlite3.connect(path, isolation_level=None, check_same_thread=False), 64
        )
        return await connection._connect()

    return connect
