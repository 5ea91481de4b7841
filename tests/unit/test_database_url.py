"""Database URLs as users write them (`config.async_database_url`): the async driver is
picked, and libpq's `sslmode` — in the URLs hosted PostgreSQL services hand out — reaches
asyncpg as its `ssl` (asyncpg refuses an `sslmode` argument: chorus did not start)."""

import asyncio
import os

import pytest
from sqlalchemy import text

from chorus.config import async_database_url
from chorus.kit.db import connect


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u:p@db/chorus", "postgresql+asyncpg://u:p@db/chorus"),
        (
            "postgresql://u@db/chorus?sslmode=require",
            "postgresql+asyncpg://u@db/chorus?ssl=require",
        ),
        (
            "postgresql://u@db/chorus?application_name=x&sslmode=verify-full",
            "postgresql+asyncpg://u@db/chorus?application_name=x&ssl=verify-full",
        ),
        (
            "postgresql://u@db/chorus?ssl=disable&sslmode=require",
            "postgresql+asyncpg://u@db/chorus?ssl=disable&sslmode=require",
        ),
        (
            "postgresql://u@db/chorus?application_name=a%2Fb",
            "postgresql+asyncpg://u@db/chorus?application_name=a%2Fb",
        ),
        ("sqlite:///tmp/chorus.db", "sqlite+aiosqlite:///tmp/chorus.db"),
    ],
)
def test_urls_as_written_become_the_drivers_urls(given: str, used: str) -> None:
    assert async_database_url(given) == used


@pytest.mark.skipif(
    not os.environ.get("CHORUS_TEST_DATABASE_URL"), reason="needs CHORUS_TEST_DATABASE_URL"
)
def test_a_libpq_sslmode_is_obeyed() -> None:
    base = os.environ["CHORUS_TEST_DATABASE_URL"].split("?", 1)[0]

    async def encrypted(url: str) -> bool:
        db = connect(async_database_url(url))
        try:
            async with db.read_sessions() as session:
                query = text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                return bool((await session.execute(query)).scalar())
        finally:
            await db.dispose()

    assert asyncio.run(encrypted(f"{base}?sslmode=disable")) is False
