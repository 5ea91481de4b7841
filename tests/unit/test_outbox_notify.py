"""PostgreSQL: a committed job wakes workers listening in other processes (`LISTEN
chorus_outbox`), through the trigger on `outbox_jobs` (migration 0008), whether the job was
queued in a session (`enqueue`) or group-committed with sends; a rolled-back one does not.
Runs when CHORUS_TEST_DATABASE_URL is set."""

import asyncio
import os
from pathlib import Path

import asyncpg
import pytest

from chorus.config import async_database_url
from chorus.kit.db import connect
from chorus.kit.group_commit import GroupCommitter
from chorus.outbox import signals
from chorus.outbox.service import enqueue, job_row
from chorus.store import migrate
from tests.conftest import fresh_database

pytestmark = pytest.mark.skipif(
    not os.environ.get("CHORUS_TEST_DATABASE_URL"), reason="needs CHORUS_TEST_DATABASE_URL"
)
GIVE_UP_SECONDS = 30  # far beyond the milliseconds a notification takes


async def _notifications(url: str) -> None:
    db = connect(async_database_url(url))
    listener = await asyncpg.connect(url)
    received: asyncio.Queue[str] = asyncio.Queue()
    try:
        await migrate(db.write_engine)
        await listener.add_listener(signals.CHANNEL, lambda *args: received.put_nowait(args[2]))

        async with db.write_sessions() as session:
            await enqueue(session, "rolled.back", project_id="p", payload={})
            await session.rollback()
        async with db.write_sessions() as session:
            await enqueue(session, "first", project_id="p", payload={})
            await enqueue(session, "second", project_id="p", payload={})
            await session.commit()
        await asyncio.wait_for(received.get(), GIVE_UP_SECONDS)

        committer = GroupCommitter(db)
        try:
            await committer.insert([job_row("sent", project_id="p", payload={})])
        finally:
            await committer.stop()
        await asyncio.wait_for(received.get(), GIVE_UP_SECONDS)
        # One notification per committed transaction, none for the rolled-back one.
        assert received.empty()
    finally:
        await listener.close()
        await db.dispose()


def test_committed_jobs_notify_listeners_on_other_connections(tmp_path: Path) -> None:
    with fresh_database("postgresql", tmp_path) as (url, _):
        asyncio.run(_notifications(url))
