"""The short-lived app cache (`apps.cache`), on a real SQLite store: what the hot paths read
instead of the row."""

import asyncio
from pathlib import Path

from sqlalchemy import inspect, update

from chorus.apps import cache
from chorus.kit.db import connect
from chorus.models import App
from chorus.store import migrate


def test_an_app_is_read_once_until_forgotten_and_is_a_copy_of_no_session(tmp_path: Path) -> None:
    async def run() -> None:
        db = connect(f"sqlite+aiosqlite:///{tmp_path / 'chorus.db'}")
        try:
            await migrate(db.write_engine)
            async with db.write_sessions() as session:
                session.add(
                    App(
                        id="app1",
                        project_id="p",
                        display_name="first",
                        retention_policy={},
                        dispatch_retention_policy={},
                        smart_conversation={},
                        rate_limits={},
                    )
                )
                await session.commit()
            async with db.read_sessions() as session:
                first = await cache.app_by_id(session, "app1")
                assert first is not None and first.display_name == "first"
                assert inspect(first).transient  # belongs to no session
                assert await cache.app_in_project(session, "other", "app1") is None
            async with db.write_sessions() as session:
                await session.execute(update(App).values(display_name="renamed"))
                await session.commit()
            async with db.read_sessions() as session:
                assert (await cache.app_by_id(session, "app1")).display_name == "first"
                cache.forget("app1")  # what apps.service does when it changes an app
                assert (await cache.app_by_id(session, "app1")).display_name == "renamed"
                assert await cache.app_by_id(session, "missing") is None
        finally:
            cache.forget("app1")
            await db.dispose()

    asyncio.run(run())
