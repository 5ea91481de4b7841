"""A worker drains a backlog without waiting for its poll (`outbox.worker`), on a real SQLite
store: a finished job that frees a full lane, or that the next job of its ordering key waits
for, wakes the worker. The poll is set to an hour here, so a missed wake-up fails the test
(it would time out) instead of merely slowing it down, and the first jobs finish only once the
worker has gone to sleep (nothing else is left for it to claim by then)."""

import asyncio
from pathlib import Path

import pytest

from chorus.kit.db import connect
from chorus.outbox import signals
from chorus.outbox import worker as worker_module
from chorus.outbox.service import enqueue
from chorus.outbox.worker import Job, Worker
from chorus.store import migrate

JOBS = 40
GIVE_UP_SECONDS = 60  # far beyond the fraction of a second the drain takes


def drain(path: Path, *, lanes: dict[str, int], ordering_key: str | None) -> list[int]:
    """Queue `JOBS` jobs of one kind, run a worker until all are done; the ids in the order
    their handler ran."""

    async def run() -> list[int]:
        db = connect(f"sqlite+aiosqlite:///{path}")
        ran: list[int] = []
        done, asleep = asyncio.Event(), asyncio.Event()

        async def handler(job: Job) -> None:
            await asleep.wait()
            ran.append(job.payload["n"])
            if len(ran) == JOBS:
                done.set()

        try:
            await migrate(db.write_engine)
            async with db.write_sessions() as session:
                for n in range(JOBS):
                    await enqueue(
                        session,
                        "callback",
                        project_id="p",
                        payload={"n": n},
                        ordering_key=ordering_key,
                    )
                await session.commit()
            sleep = signals.wait
            # Consume the wake-up of the commit above: the worker's first claim needs none, and
            # a stale one would hide a missing wake-up later.
            await sleep(asyncio.Event(), 0)

            async def sleep_then_release(stop: asyncio.Event, seconds: float) -> None:
                asleep.set()
                await sleep(stop, seconds)

            worker_module.signals.wait = sleep_then_release  # type: ignore[assignment]
            worker = Worker(db, handlers={"callback": handler}, lanes=lanes)
            stop = asyncio.Event()
            running = asyncio.create_task(worker.run(stop))
            try:
                await asyncio.wait_for(done.wait(), GIVE_UP_SECONDS)
            finally:
                worker_module.signals.wait = sleep  # type: ignore[assignment]
                stop.set()
                await running
            return ran
        finally:
            await db.dispose()

    return asyncio.run(run())


@pytest.fixture(autouse=True)
def hour_long_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_module, "POLL_SECONDS", 3600.0)


def test_a_backlog_of_a_laned_kind_drains_lane_after_lane(tmp_path: Path) -> None:
    ran = drain(tmp_path / "chorus.db", lanes={"callback": 4}, ordering_key=None)
    assert sorted(ran) == list(range(JOBS))


def test_jobs_of_one_ordering_key_run_one_after_another_in_order(tmp_path: Path) -> None:
    ran = drain(tmp_path / "chorus.db", lanes={}, ordering_key="webhook:message")
    assert ran == list(range(JOBS))
