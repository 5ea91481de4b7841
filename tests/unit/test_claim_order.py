"""The order in which workers claim jobs (`outbox.service.Priority`), on a real SQLite store."""

import asyncio
from pathlib import Path

from sqlalchemy import select

from chorus.kit.db import connect
from chorus.messages import status
from chorus.models import Message, OutboxJob
from chorus.outbox.service import Priority, enqueue
from chorus.outbox.worker import Worker
from chorus.store import migrate

# In the order they are queued.
QUEUED = [
    ("send-1", Priority.SEND),
    ("send-2", Priority.SEND),
    ("urgent-send", Priority.SEND_HIGH),
    ("callback", Priority.FOLLOW_UP),
    ("send-3", Priority.SEND),
]


def claim_in_batches(path: Path, *sizes: int) -> list[list[str]]:
    """Queue `QUEUED`, then claim batches of `sizes`: the kinds each batch got."""

    async def run() -> list[list[str]]:
        db = connect(f"sqlite+aiosqlite:///{path}")
        try:
            await migrate(db.write_engine)
            async with db.write_sessions() as session:
                for kind, priority in QUEUED:
                    await enqueue(session, kind, project_id="p", payload={}, priority=priority)
                await session.commit()
            handlers = {kind: None for kind, _ in QUEUED}
            worker = Worker(db, handlers=handlers)  # type: ignore[arg-type]
            return [[job.kind for job in await worker.claim(size)] for size in sizes]
        finally:
            await db.dispose()

    return asyncio.run(run())


def test_callbacks_then_high_priority_sends_then_sends_oldest_first(tmp_path: Path) -> None:
    batches = claim_in_batches(tmp_path / "chorus.db", 1, 1, 1, 2)
    assert batches == [["callback"], ["urgent-send"], ["send-1"], ["send-2", "send-3"]]


def test_the_next_channel_of_a_high_priority_send_is_dispatched_with_high_priority(
    tmp_path: Path,
) -> None:
    async def run() -> list[int]:
        db = connect(f"sqlite+aiosqlite:///{tmp_path / 'chorus.db'}")
        try:
            await migrate(db.write_engine)
            async with db.write_sessions() as session:
                for index, queue in enumerate(("HIGH_PRIORITY", "NORMAL_PRIORITY", None)):
                    message = Message(
                        id=f"m{index}",
                        project_id="p",
                        app_id="a",
                        candidate_index=1,
                        send_options={"queue": queue} if queue else {},
                    )
                    await status.queue_dispatch(session, message)
                await session.commit()
                jobs = await session.scalars(select(OutboxJob.priority).order_by(OutboxJob.id))
                return list(jobs)
        finally:
            await db.dispose()

    assert asyncio.run(run()) == [Priority.SEND_HIGH, Priority.SEND, Priority.SEND]


def test_a_laned_kind_never_takes_more_than_its_lane(tmp_path: Path) -> None:
    async def run() -> list[list[str]]:
        db = connect(f"sqlite+aiosqlite:///{tmp_path / 'chorus.db'}")
        try:
            await migrate(db.write_engine)
            async with db.write_sessions() as session:
                for index in range(6):
                    for kind, priority in (("callback", Priority.FOLLOW_UP), ("send", 0)):
                        await enqueue(
                            session, kind, project_id="p", payload={"n": index}, priority=priority
                        )
                await session.commit()
            handlers = {"callback": None, "send": None}
            worker = Worker(db, handlers=handlers, lanes={"callback": 2})  # type: ignore[arg-type]
            worker._running["callback"] = 1  # one is running already
            first = await worker._claim_within_lanes(4)
            worker._running["callback"] = 2  # the lane is full
            second = await worker._claim_within_lanes(4)
            return [sorted(job.kind for job in first), sorted(job.kind for job in second)]
        finally:
            await db.dispose()

    assert asyncio.run(run()) == [["callback", "send", "send", "send"], ["send"] * 3]
