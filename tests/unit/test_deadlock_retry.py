"""PostgreSQL: `kit.db.retry_conflicts` runs its work again when PostgreSQL makes it a
deadlock's victim, having rolled back to its savepoint (so the other transaction, which
waited for what the work held, goes on); other errors go up at once. Runs when
CHORUS_TEST_DATABASE_URL is set."""

import asyncio
import os
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy.exc
from sqlalchemy import text

from chorus.config import async_database_url
from chorus.kit.db import Database, connect, retry_conflicts
from tests.conftest import fresh_database

pytestmark = pytest.mark.skipif(
    not os.environ.get("CHORUS_TEST_DATABASE_URL"), reason="needs CHORUS_TEST_DATABASE_URL"
)


async def _two_rows(db: Database) -> None:
    async with db.write_sessions() as session:
        await session.execute(text("CREATE TABLE things (id int PRIMARY KEY, seen int)"))
        await session.execute(text("INSERT INTO things VALUES (1, 0), (2, 0)"))
        await session.commit()


async def _deadlock(url: str) -> None:
    db = connect(async_database_url(url))
    other = await asyncpg.connect(url)
    try:
        await _two_rows(db)
        # The work's session checks for deadlocks first (2 s), so it is the victim; the
        # other transaction would wait a minute before checking.
        await other.execute("SET deadlock_timeout = '60s'")
        held = other.transaction()
        await held.start()
        await other.execute("SELECT id FROM things WHERE id = 1 FOR UPDATE")
        runs = 0
        holding_two, other_done = asyncio.Event(), asyncio.Event()

        async with db.write_sessions() as session:
            await session.execute(text("SET deadlock_timeout = '2s'"))

            async def work() -> None:
                nonlocal runs
                runs += 1
                if runs > 1:
                    # Once the victim let go of row 2, the other transaction and the run again
                    # race for it; the run again could win and deadlock once more. It waits.
                    await other_done.wait()
                await session.execute(text("UPDATE things SET seen = seen + 1 WHERE id = 2"))
                holding_two.set()
                await session.execute(text("UPDATE things SET seen = seen + 1 WHERE id = 1"))

            async def other_side() -> None:
                await holding_two.wait()
                # Waits for the work's row 2: a deadlock, until the work lets go of it.
                await other.execute("UPDATE things SET seen = seen + 10 WHERE id = 2")
                await held.commit()
                other_done.set()

            await asyncio.gather(retry_conflicts(session, work), other_side())
            await session.commit()
        assert runs == 2
        rows = await other.fetch("SELECT id, seen FROM things ORDER BY id")
        # The first run's updates were rolled back; the other's and the second run's stay.
        assert [tuple(r) for r in rows] == [(1, 1), (2, 11)]
    finally:
        await other.close()
        await db.dispose()


async def _not_a_conflict(url: str) -> None:
    db = connect(async_database_url(url))
    try:
        runs = 0
        async with db.write_sessions() as session:

            async def work() -> None:
                nonlocal runs
                runs += 1
                await session.execute(text("SELECT * FROM no_such_table"))

            with pytest.raises(sqlalchemy.exc.ProgrammingError):
                await retry_conflicts(session, work)
        assert runs == 1
    finally:
        await db.dispose()


def test_a_deadlock_victim_runs_again(tmp_path: Path) -> None:
    with fresh_database("postgresql", tmp_path) as (url, _):
        asyncio.run(_deadlock(url))


def test_other_errors_are_not_retried(tmp_path: Path) -> None:
    with fresh_database("postgresql", tmp_path) as (url, _):
        asyncio.run(_not_a_conflict(url))
