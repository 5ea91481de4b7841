"""SQLite driven on the event loop's own thread.

aiosqlite runs every statement on a helper thread and hands the result back through the
event loop, so each statement waits a full turn of the loop. Under load that turn, not
SQLite, dominates: a write transaction of six statements holds the single writer
connection for milliseconds and caps the whole process at a few hundred transactions per
second. SQLite itself answers these statements in tens of microseconds, so running them
inline costs the loop less than the hand-offs did.

This keeps aiosqlite's connection API (SQLAlchemy's aiosqlite dialect drives it, through
`create_async_engine(..., async_creator=...)`) and replaces only the thread. The trade:
a statement that must wait for a lock another *process* holds blocks the loop for up to
the busy timeout — rare in the embedded single-process mode this serves (e.g. `chorus
project create` against the running server's file).
"""

import sqlite3
from collections.abc import Callable
from typing import Any

import aiosqlite


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run inline instead of on a helper thread."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
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


def creator(path: str) -> Callable[[], Any]:
    """An `async_creator` for `create_async_engine` opening `path`."""

    async def connect() -> InlineConnection:
        connection = InlineConnection(
            lambda: sqlite3.connect(path, isolation_level=None, check_same_thread=False), 64
        )
        return await connection._connect()

    return connect
