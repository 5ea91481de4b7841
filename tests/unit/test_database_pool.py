"""PostgreSQL connections a process keeps open (`Settings.database_pool_size`,
`kit.db.connect`): a fixed number, never more, whatever the load, so that a deployment's
connections are its processes times the pool."""

import asyncio
from pathlib import Path

from chorus.config import Settings
from chorus.kit.db import connect

POSTGRES = "postgresql+asyncpg://chorus@127.0.0.1:1/chorus"  # never connected to


def test_by_default_a_process_keeps_ten_connections_and_opens_no_more(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, worker_concurrency=64)
    db = connect(POSTGRES, pool_size=settings.database_pool_size)
    try:
        assert db.write_engine.pool.size() == 10
        assert db.write_engine.pool._max_overflow == 0
        assert db.read_engine is db.write_engine
    finally:
        asyncio.run(db.dispose())


def test_the_pool_size_can_be_set(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_pool_size=5)
    db = connect(POSTGRES, pool_size=settings.database_pool_size)
    try:
        assert db.write_engine.pool.size() == 5
    finally:
        asyncio.run(db.dispose())
