"""API clients first (`kit/load.py`): which requests count as client load, and how the
worker runs its jobs while there is any (`outbox/worker.py`, BUSY_BATCH)."""

import asyncio
from pathlib import Path
from typing import Any

import pytest

from chorus.kit.db import connect
from chorus.kit.load import CountApiRequests, RequestLoad
from chorus.outbox.service import enqueue
from chorus.outbox.worker import BUSY_BATCH, Job, Worker
from chorus.store import migrate


def run_request(load: RequestLoad, path: str) -> list[int]:
    """Serve one request through the middleware; returns `in_flight` as the app saw it."""
    seen: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(load.in_flight)

    async def nothing(*_: Any) -> Any:
        return None

    asyncio.run(CountApiRequests(app, load)({"type": "http", "path": path}, nothing, nothing))
    return seen


@pytest.mark.parametrize(
    "path",
    [
        "/v1/projects/p/messages:send",
        "/v1beta/projects/p/apps",
        "/v2/projects/p/templates",
        "/oauth2/token",
        "/chorus/v1/projects/p/deliveries/d",
    ],
)
def test_client_api_requests_count_while_they_run(path: str) -> None:
    load = RequestLoad()
    assert run_request(load, path) == [1]
    assert load.in_flight == 0
    assert load.busy()  # just served: still busy for QUIET_SECONDS


@pytest.mark.parametrize(
    "path", ["/healthz", "/inbound/sms/app", "/simulator/sms/xms/v1/p/batches", "/console/"]
)
def test_probes_channel_webhooks_and_the_simulator_are_not_client_load(path: str) -> None:
    load = RequestLoad()
    assert run_request(load, path) == [0]
    assert not load.busy()


JOBS = 20


def run_jobs(path: Path, load: RequestLoad) -> list[list[int]]:
    """Queue `JOBS` jobs on a real SQLite store and run a worker until all are done; the jobs
    grouped by how many were running together (a group ends when none is left running)."""

    async def run() -> list[list[int]]:
        db = connect(f"sqlite+aiosqlite:///{path}")
        groups: list[list[int]] = [[]]
        running = 0
        done = asyncio.Event()

        async def handler(job: Job) -> None:
            nonlocal running
            running += 1
            groups[-1].append(job.payload["n"])
            for _ in range(5):  # let the others claimed with it start too
                await asyncio.sleep(0)
            running -= 1
            if running == 0:
                groups.append([])
            if sum(map(len, groups)) == JOBS:
                done.set()

        try:
            await migrate(db.write_engine)
            async with db.write_sessions() as session:
                for n in range(JOBS):
                    await enqueue(session, "job", project_id="p", payload={"n": n})
                await session.commit()
            worker = Worker(db, handlers={"job": handler}, concurrency=32, load=load)
            stop = asyncio.Event()
            task = asyncio.create_task(worker.run(stop))
            try:
                await asyncio.wait_for(done.wait(), 60)
            finally:
                stop.set()
                await task
            return [group for group in groups if group]
        finally:
            await db.dispose()

    return asyncio.run(run())


def test_while_the_api_is_busy_jobs_run_in_small_batches_one_batch_at_a_time(
    tmp_path: Path,
) -> None:
    load = RequestLoad()
    load.in_flight = 1  # a client request that never ends
    groups = run_jobs(tmp_path / "chorus.db", load)
    assert sorted(n for group in groups for n in group) == list(range(JOBS))
    assert [len(group) for group in groups] == [BUSY_BATCH] * (JOBS // BUSY_BATCH)


def test_when_the_api_is_quiet_jobs_run_all_together(tmp_path: Path) -> None:
    groups = run_jobs(tmp_path / "chorus.db", RequestLoad())
    assert [len(group) for group in groups] == [JOBS]
