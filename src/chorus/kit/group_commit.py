"""Group commit: many small, independent inserts share one transaction.

The send path's write is tiny (a message and its dispatch job) but a transaction per
request costs a commit and, on SQLite, a turn on the single writer connection. Requests hand
their rows to one committer task per process; it writes everything pending in one
transaction and only then resolves each request's future, so every 200 still means "on
disk" (DESIGN.md, "Accepted means durable"). While one batch commits, the next gathers.
"""

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import Table, insert, text

from chorus.kit.db import Database, describe_unavailable, unavailable
from chorus.outbox import signals

log = logging.getLogger("chorus.group_commit")

MAX_BATCH = 500

# A row for Core: its table and its column values (by column name).
TableRow = tuple[Table, dict[str, Any]]


class GroupCommitter:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: list[tuple[list[TableRow], asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for _, future in self._pending:
            if not future.done():
                future.set_exception(RuntimeError("shutting down"))

    async def insert(self, rows: list[TableRow]) -> None:
        """Return once `rows` are committed (or raise what the commit raised)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((rows, future))
        self._wake.set()
        await asyncio.shield(future)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                await self._commit(batch)

    async def _commit(self, batch: list[tuple[list[TableRow], asyncio.Future[None]]]) -> None:
        try:
            await self._write([row for rows, _ in batch for row in rows])
        except Exception as exc:
            if unavailable(exc):
                # No culprit to isolate: every send of the batch waits on the same database.
                log.warning(
                    "group commit: the database is unavailable: %s", describe_unavailable(exc)
                )
                failed = batch
            elif len(batch) > 1:
                # Isolate the culprit: the others must not fail for it.
                for item in batch:
                    await self._commit([item])
                return
            else:
                log.warning("group commit failed", exc_info=True)
                failed = batch
            for _, future in failed:
                if not future.done():
                    future.set_exception(exc)
            return
        for _, future in batch:
            if not future.done():
                future.set_result(None)
        signals.notify_local()

    async def _write(self, rows: list[TableRow]) -> None:
        # Core executemany per table: the ORM's unit of work costs more than the insert.
        # Rows of one table carry the same keys; Core applies the columns' defaults.
        tables: dict[Table, list[dict[str, Any]]] = {}
        for table, values in rows:
            tables.setdefault(table, []).append(values)
        # A plain connection, not an ORM session: nothing here needs one.
        async with self._db.write_engine.begin() as connection:
            for table, values in tables.items():
                await connection.execute(insert(table), values)
            if self._db.dialect == "postgresql":
                await connection.execute(text(f"SELECT pg_notify('{signals.CHANNEL}', '')"))
