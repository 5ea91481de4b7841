"""SQLite transactions as the inline cursor opens them (kit/sqlite_inline.py): a write
transaction holds the file's write lock from its first statement, even a read (BEGIN
IMMEDIATE: it can never fail later on a lock upgrade); a read transaction keeps one snapshot;
connection settings are in force on both engines."""

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy import text

from chorus.kit.db import connect


def other_writer(path: Path) -> sqlite3.Connection:
    """Another process's connection, which gives up at once on a locked file."""
    return sqlite3.connect(path, isolation_level=None, timeout=0)


def test_a_write_transaction_holds_the_write_lock_from_its_first_statement(
    tmp_path: Path,
) -> None:
    path = tmp_path / "chorus.db"
    other = other_writer(path)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (x INTEGER)")

    async def run() -> tuple[str, str]:
        db = connect(f"sqlite+aiosqlite:///{path}")
        try:
            async with db.write_sessions() as session:
                await session.execute(text("SELECT count(*) FROM t"))
                try:
                    other.execute("INSERT INTO t VALUES (1)")
                    during = "written"
                except sqlite3.OperationalError as exc:
                    during = str(exc)
                await session.commit()
            other.execute("INSERT INTO t VALUES (2)")
            return during, "written"
        finally:
            await db.dispose()

    during, after = asyncio.run(run())
    assert during == "database is locked"
    assert after == "written"


def test_a_read_transaction_sees_one_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "chorus.db"
    other = other_writer(path)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (x INTEGER)")

    async def run() -> list[int]:
        db = connect(f"sqlite+aiosqlite:///{path}")
        try:
            async with db.read_sessions() as session:
                first = (await session.execute(text("SELECT count(*) FROM t"))).scalar_one()
                other.execute("INSERT INTO t VALUES (1)")
                second = (await session.execute(text("SELECT count(*) FROM t"))).scalar_one()
            async with db.read_sessions() as session:
                third = (await session.execute(text("SELECT count(*) FROM t"))).scalar_one()
            return [first, second, third]
        finally:
            await db.dispose()

    assert asyncio.run(run()) == [0, 0, 1]


def test_connection_settings_hold_on_both_engines(tmp_path: Path) -> None:
    async def run() -> list[list[object]]:
        db = connect(f"sqlite+aiosqlite:///{tmp_path / 'chorus.db'}")
        try:
            found = []
            for sessions in (db.write_sessions, db.read_sessions):
                async with sessions() as session:
                    found.append(
                        [
                            (await session.execute(text(f"PRAGMA {name}"))).scalar_one()
                            for name in ("foreign_keys", "journal_mode", "wal_autocheckpoint")
                        ]
                    )
            return found
        finally:
            await db.dispose()

    assert asyncio.run(run()) == [[1, "wal", 0], [1, "wal", 0]]
