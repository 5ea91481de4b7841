"""The retention sweep's one pending job (`retention.schedule_sweep`)."""

import asyncio
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from chorus.kit.clock import utcnow
from chorus.models import OutboxJob
from chorus.retention import SWEEP_JOB, schedule_sweep


def pending_sweeps(*intervals: float) -> list:
    """The sweep jobs after processes with these intervals started, one after the other."""

    async def main() -> list:
        engine = create_async_engine("sqlite+aiosqlite://")
        async with engine.begin() as connection:
            await connection.run_sync(OutboxJob.__table__.create)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        try:
            for seconds in intervals:
                async with sessions() as session:
                    await schedule_sweep(session, seconds)
                    await session.commit()
            async with sessions() as session:
                jobs = await session.scalars(select(OutboxJob).where(OutboxJob.kind == SWEEP_JOB))
                return [job.run_after for job in jobs]
        finally:
            await engine.dispose()

    return asyncio.run(main())


def test_a_shorter_interval_brings_the_pending_sweep_forward() -> None:
    started = utcnow()
    (run_after,) = pending_sweeps(600, 2)
    assert run_after <= utcnow() + timedelta(seconds=2)
    assert run_after >= started


def test_a_longer_interval_leaves_the_pending_sweep_where_it_is() -> None:
    before = utcnow()
    (run_after,) = pending_sweeps(2, 600)
    assert run_after <= utcnow() + timedelta(seconds=2)
    assert run_after >= before
