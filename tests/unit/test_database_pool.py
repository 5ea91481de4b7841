"""PostgreSQL connections a process keeps open (`Settings.pool_size`, `kit.db.connect`): as
many as its worker runs jobs at once and some for requests, so that a busy worker does not
open and close connections (a TLS handshake, every statement prepared anew) job after job."""

import asyncio
from pathlib import Path

from chorus.config import Settings
from chorus.kit.db import connect

POSTGRES = "postgresql+asyncpg://chorus@127.0.0.1:1/chorus"  # never connected to


def test_by_default_the_pool_holds_the_workers_concurrency_and_room_for_requests(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, worker_concurrency=20)
    db = connect(POSTGRES, pool_size=settings.pool_size)
    try:
        assert db.write_engine.pool.size() == 28
        assert db.read_engine is db.write_engine
    finally:
        asyncio.run(db.dispose())


def test_the_pool_size_can_be_set(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, worker_concurrency=20, database_pool_size=5)
    assert settings.pool_size == 5
