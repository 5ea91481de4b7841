"""Group commit (`kit/group_commit.py`) of callback attempts' records, on a real SQLite
store: writes of many callers share a transaction, and one bad write fails only its own."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from chorus.callbacks import service
from chorus.callbacks.delivery import Outcome
from chorus.kit.clock import utcnow
from chorus.kit.db import Database, connect
from chorus.kit.group_commit import GroupCommitter, insert_row
from chorus.models import CallbackAttempt, CallbackDelivery, Project
from chorus.store import migrate

DELIVERED = Outcome(200, 1.5, None, {"x-chorus-event-id": "e"})
REFUSED = Outcome(503, 2.0, "HTTP 503", {})


def on_store(path: Path, scenario: Callable[[Database, GroupCommitter], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        db = connect(f"sqlite+aiosqlite:///{path}")
        committer = GroupCommitter(db)
        try:
            await migrate(db.write_engine)
            async with db.write_sessions() as session:
                for index in range(3):
                    session.add(
                        CallbackDelivery(
                            id=f"d{index}",
                            event_id=f"e{index}",
                            project_id="p",
                            app_id="a",
                            target="http://hook",
                            trigger="MESSAGE_DELIVERY",
                            body="{}",
                        )
                    )
                await session.commit()
            return await scenario(db, committer)
        finally:
            await committer.stop()
            await db.dispose()

    return asyncio.run(run())


def record(delivery_id: str, outcome: Outcome, retry_in: float | None = None) -> list[Any]:
    return list(
        service.attempt_writes(
            delivery_id, outcome, url="http://hook", attempted_at=utcnow(), retry_in=retry_in
        )
    )


async def state(db: Database) -> dict[str, tuple[str, int, int]]:
    """Each delivery's status, attempt count and recorded attempts."""
    async with db.read_sessions() as session:
        attempts = dict(
            (
                await session.execute(
                    select(CallbackAttempt.delivery_id, func.count()).group_by(
                        CallbackAttempt.delivery_id
                    )
                )
            ).all()
        )
        deliveries = await session.scalars(select(CallbackDelivery))
        return {d.id: (d.status, d.attempts, attempts.get(d.id, 0)) for d in deliveries}


def test_records_of_concurrent_attempts_are_committed_together(tmp_path: Path) -> None:
    async def scenario(db: Database, committer: GroupCommitter) -> Any:
        await asyncio.gather(
            committer.write(record("d0", DELIVERED)),
            committer.write(record("d1", REFUSED, retry_in=30)),
            committer.write(record("d2", REFUSED)),  # the last attempt
        )
        return await state(db)

    assert on_store(tmp_path / "chorus.db", scenario) == {
        "d0": ("delivered", 1, 1),
        "d1": ("pending", 1, 1),
        "d2": ("dead", 1, 1),
    }


def test_an_attempt_of_a_delivery_removed_meanwhile_is_not_recorded(tmp_path: Path) -> None:
    async def scenario(db: Database, committer: GroupCommitter) -> Any:
        async with db.write_sessions() as session:
            await session.delete(await session.get(CallbackDelivery, "d1"))
            await session.commit()
        await asyncio.gather(
            committer.write(record("d0", DELIVERED)),
            committer.write(record("d1", DELIVERED)),
        )
        return await state(db)

    assert on_store(tmp_path / "chorus.db", scenario) == {
        "d0": ("delivered", 1, 1),
        "d2": ("pending", 0, 0),
    }


def test_a_write_that_fails_fails_only_its_caller(tmp_path: Path) -> None:
    async def scenario(db: Database, committer: GroupCommitter) -> Any:
        project = Project.__table__
        results = await asyncio.gather(
            committer.write(record("d0", DELIVERED)),
            committer.write(
                [
                    insert_row(project, {"id": "p1", "name": "one", "created_at": utcnow()}),
                    insert_row(project, {"id": "p1", "name": "again", "created_at": utcnow()}),
                ]
            ),
            committer.write(record("d2", DELIVERED)),
            return_exceptions=True,
        )
        return results, await state(db)

    results, after = on_store(tmp_path / "chorus.db", scenario)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], IntegrityError)
    assert after == {
        "d0": ("delivered", 1, 1),
        "d1": ("pending", 0, 0),
        "d2": ("delivered", 1, 1),
    }


def test_a_stopped_committer_refuses_writes(tmp_path: Path) -> None:
    async def scenario(db: Database, committer: GroupCommitter) -> Any:
        await committer.stop()
        with pytest.raises(RuntimeError, match="shutting down"):
            await committer.write(record("d0", DELIVERED))

    on_store(tmp_path / "chorus.db", scenario)
