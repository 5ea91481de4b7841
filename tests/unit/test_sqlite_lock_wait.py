"""A write transaction that finds the SQLite file locked by another process waits without
stopping the event loop (kit/sqlite_inline.py), and still gives up after its deadline."""

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from chorus.kit import sqlite_inline
from chorus.kit.db import connect


def holder(path: Path) -> sqlite3.Connection:
    """Another process's connection, in the middle of a write transaction."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    return other


async def write(db_url: str) -> None:
    db = connect(db_url)
    try:
        async with db.write_engine.begin() as connection:
            await connection.execute(text("INSERT INTO t VALUES (2)"))
    finally:
        await db.dispose()


def test_the_loop_runs_while_a_writer_waits_for_another_process(tmp_path: Path) -> None:
    path = tmp_path / "chorus.db"
    other = holder(path)

    async def run() -> int:
        ticks = 0

        async def other_process() -> None:
            # It commits only after the loop has turned many times while the write waited:
            # a writer that blocked the loop would never let this run, and would fail.
            nonlocal ticks
            while ticks < 20:
                ticks += 1
                await asyncio.sleep(0.001)
            other.execute("COMMIT")

        await asyncio.gather(write(f"sqlite+aiosqlite:///{path}"), other_process())
        return ticks

    assert asyncio.run(run()) == 20
    other.close()
    rows = sqlite3.connect(path).execute("SELECT x FROM t ORDER BY x").fetchall()
    assert rows == [(1,), (2,)]


def test_a_writer_gives_up_when_the_lock_is_never_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "LOCK_WAIT", 0.05)
    path = tmp_path / "chorus.db"
    other = holder(path)
    with pytest.raises(OperationalError, match="database is locked"):
        asyncio.run(write(f"sqlite+aiosqlite:///{path}"))
    other.close()
