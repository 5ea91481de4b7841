"""The SQLite write-ahead log stays bounded (kit/db.py, `fold_wal`): past its limit it is
folded back and truncated, even while readers come and go; below it, checkpoints never make
anyone wait."""

import sqlite3
import threading
from pathlib import Path

from chorus.kit.db import fold_wal

ROW = "x" * 1000


def wal_database(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")  # as chorus runs it
    connection.execute("CREATE TABLE t (x TEXT)")
    return connection


def write(connection: sqlite3.Connection, rows: int) -> None:
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany("INSERT INTO t VALUES (?)", [(ROW,)] * rows)
    connection.execute("COMMIT")


def wal_size(path: Path) -> int:
    return Path(f"{path}-wal").stat().st_size


def test_a_log_past_its_limit_is_truncated_once_older_readers_finish(tmp_path: Path) -> None:
    path = tmp_path / "chorus.db"
    writer = wal_database(path)
    write(writer, 2000)
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchone()  # a snapshot inside the log
    write(writer, 2000)
    assert wal_size(path) > 1_000_000
    # The reader finishes while the checkpoint waits for it.
    threading.Timer(0.2, lambda: reader.execute("COMMIT")).start()

    fold_wal(str(path), limit=1_000_000, wait=10)

    assert wal_size(path) == 0
    assert writer.execute("SELECT count(*) FROM t").fetchone() == (4000,)


def test_a_log_below_its_limit_is_folded_without_waiting_for_readers(tmp_path: Path) -> None:
    path = tmp_path / "chorus.db"
    writer = wal_database(path)
    write(writer, 500)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchone()
    write(writer, 500)
    size = wal_size(path)

    fold_wal(str(path), limit=size + 1, wait=10)  # returns at once: the reader stays open

    assert wal_size(path) == size  # not truncated: the pages are copied, the file kept
    frames = writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert frames[0] == 0 and frames[2] > 0  # what the reader does not pin was copied
    reader.execute("COMMIT")
