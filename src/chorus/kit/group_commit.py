"""Group commit: many small, independent writes share one transaction.

The send path's write is tiny (a message and its dispatch job), and so is a callback
attempt's record (the delivery's new state, the attempt, the job's completion), but a
transaction for each costs a commit and, on SQLite, a turn on the single writer connection.
Callers hand their statements to one committer task per process; it writes everything
pending in one transaction (each statement once, with every caller's parameters) and only
then resolves each caller's future, so every 200 still means "on disk" (DESIGN.md,
"Accepted means durable"). While one batch commits, the next gathers.

Writes must not depend on one another: a batch that fails is written again one caller at a
time, so that one bad write fails only its own caller.
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable, Table, insert

from chorus.kit.db import Database, describe_unavailable, unavailable
from chorus.outbox import signals

log = logging.getLogger("chorus.group_commit")

MAX_BATCH = 500

# A row for Core: its table and its column values (by column name).
TableRow = tuple[Table, dict[str, Any]]
# A statement and its parameters. Statements built once: a batch runs each distinct one
# once, for all its callers' parameters (which carry the same keys).
Write = tuple[Executable, dict[str, Any]]


@dataclass
class _Pending:
    writes: list[Write]
    enqueues: bool  # whether workers should look for new jobs once it commits
    future: asyncio.Future[None]


_inserts: dict[Table, Executable] = {}


def insert_row(table: Table, values: dict[str, Any]) -> Write:
    """A row's insert as a write (Core applies the columns' defaults)."""
    statement = _inserts.get(table)
    if statement is None:
        statement = _inserts[table] = insert(table)
    return statement, values


class GroupCommitter:
    """Started on first use, on the running event loop; stopped with its runtime."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: list[_Pending] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    async def stop(self) -> None:
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for pending in self._pending:
            if not pending.future.done():
                pending.future.set_exception(RuntimeError("shutting down"))

    async def insert(self, rows: list[TableRow]) -> None:
        """Return once `rows` are committed (or raise what the commit raised). Rows may hold
        jobs: workers are woken."""
        await self.write([insert_row(table, values) for table, values in rows], enqueues=True)

    async def write(self, writes: list[Write], *, enqueues: bool = False) -> None:
        """Return once `writes` are committed, in order of their statements' first
        appearance (or raise what the commit raised)."""
        if self._stopped:
            raise RuntimeError("shutting down")
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(writes, enqueues, future))
        self._wake.set()
        await asyncio.shield(future)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                await self._commit(batch)

    async def _commit(self, batch: list[_Pending]) -> None:
        enqueues = any(pending.enqueues for pending in batch)
        try:
            await self._write([write for pending in batch for write in pending.writes])
        except Exception as exc:
            if unavailable(exc):
                # No culprit to isolate: every caller of the batch waits on the same database.
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
                # Not logged here: its caller answers for it (a send to an app deleted
                # meanwhile is a 400; anything unexpected is logged there, as a 500).
                failed = batch
            for pending in failed:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            return
        for pending in batch:
            if not pending.future.done():
                pending.future.set_result(None)
        if enqueues:
            signals.notify_local()

    async def _write(self, writes: list[Write]) -> None:
        # Core executemany per statement: the ORM's unit of work costs more than the write.
        statements: dict[Executable, list[dict[str, Any]]] = {}
        for statement, params in writes:
            statements.setdefault(statement, []).append(params)
        # A plain connection, not an ORM session: nothing here needs one.
        async with self._db.write_engine.begin() as connection:
            for statement, params in statements.items():
                await connection.execute(statement, params)
