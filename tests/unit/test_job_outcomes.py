"""Every job a worker runs is counted by kind and outcome, and timed (`chorus_jobs_total`,
`chorus_job_duration_seconds`), on a real SQLite store."""

import asyncio
from pathlib import Path

from sqlalchemy import update

from chorus.kit.counters import JOB_DURATION, JOBS
from chorus.kit.db import connect
from chorus.models import OutboxJob
from chorus.outbox.service import enqueue
from chorus.outbox.worker import MAX_ATTEMPTS, Job, Retry, Worker
from chorus.store import migrate

OUTCOMES = ("completed", "retried", "failed", "dead", "interrupted")


def counted(kind: str) -> dict[str, float]:
    return {outcome: JOBS.labels(kind, outcome)._value.get() for outcome in OUTCOMES}


def timed(kind: str) -> float:
    return next(
        sample.value
        for metric in JOB_DURATION.collect()
        for sample in metric.samples
        if sample.name.endswith("_count") and sample.labels.get("kind") == kind
    )


def test_jobs_are_counted_by_outcome_and_timed(tmp_path: Path) -> None:
    ran: list[str] = []

    async def handler(job: Job) -> None:
        ran.append(job.payload["do"])
        if job.payload["do"] == "retry":
            raise Retry(3600, "not now")
        if job.payload["do"] in ("fail", "die"):
            raise RuntimeError("broken")

    async def run() -> None:
        db = connect(f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}")
        try:
            await migrate(db.write_engine)
            async with db.write_sessions() as session:
                for do in ("complete", "retry", "fail", "die"):
                    await enqueue(session, "counted", project_id="p", payload={"do": do})
                # The last attempt of the job that dies.
                await session.execute(
                    update(OutboxJob)
                    .where(OutboxJob.payload["do"].as_string() == "die")
                    .values(attempts=MAX_ATTEMPTS - 1)
                )
                await session.commit()
            worker = Worker(db, handlers={"counted": handler})
            stop = asyncio.Event()
            running = asyncio.create_task(worker.run(stop))
            for _ in range(600):  # until four outcomes are counted (30 s at most)
                if sum(counted("counted").values()) - sum(before.values()) >= 4:
                    break
                await asyncio.sleep(0.05)
            stop.set()
            await running
        finally:
            await db.dispose()

    before, runs_before = counted("counted"), timed_or_zero("counted")
    asyncio.run(run())
    after = counted("counted")
    assert set(ran) == {"complete", "retry", "fail", "die"}
    # The job that failed is tried again within a second: it may have failed twice by now.
    delta = {k: after[k] - before[k] for k in OUTCOMES}
    assert delta["failed"] >= 1
    assert delta | {"failed": 1} == {
        "completed": 1,
        "retried": 1,
        "failed": 1,
        "dead": 1,
        "interrupted": 0,
    }
    assert timed("counted") - runs_before == sum(delta.values())


def timed_or_zero(kind: str) -> float:
    try:
        return timed(kind)
    except StopIteration:
        return 0.0
