"""The worker runtime: claims outbox jobs, runs their handlers, retries, leases.

- PostgreSQL: jobs are claimed with `FOR UPDATE SKIP LOCKED`, so any number of processes
  share one queue; they wake on `LISTEN chorus_outbox` (sent by a trigger on new jobs) and
  poll as a fallback. SQLite: one worker set inside the serving process, woken in-process.
- A claimed job holds a lease that its worker renews while the handler runs; a job whose
  worker died is claimed again when the lease runs out (within `LEASE`).
- A handler finishes a job by calling `job.complete(session)` inside its last transaction,
  so the job disappears together with the state it wrote. A handler that returns without
  doing so has its job completed for it.
- `Retry(delay)` reschedules; any other exception is retried with exponential backoff
  until `MAX_ATTEMPTS`, then the job is kept as `dead` with its error.
- Lanes: a kind given a lane never holds more than that many of the worker's slots, so work
  that waits on other parties' servers (callbacks to webhooks) cannot take them all and
  stall the rest (dispatch).
- A finished job wakes the worker when it may have made others claimable: it freed a slot of
  a full lane, or the next job of its ordering key waits for it. Otherwise a backlog of one
  laned kind, or of callbacks about one message, would drain a lane's worth per poll.
"""

import asyncio
import contextlib
import functools
import logging
import os
import random
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.clock import utcnow
from chorus.kit.counters import JOB_DURATION, JOBS
from chorus.kit.db import Database, log_failure
from chorus.kit.group_commit import GroupCommitter, Write
from chorus.kit.load import RequestLoad
from chorus.models import OutboxJob
from chorus.outbox import signals

log = logging.getLogger("chorus.worker")

# A claimed job's lease; renewed every HEARTBEAT while its handler runs, so a job is
# claimed again soon after its worker dies, however long a healthy handler takes.
LEASE = timedelta(seconds=30)
HEARTBEAT = 10.0
MAX_ATTEMPTS = 12
POLL_SECONDS = 1.0
# After a claim that found fewer jobs than a batch, the next waits this long: under load
# jobs arrive one or two at a time, and a claim (a write transaction) for each cost more
# than the few milliseconds a job may wait for the next batch (end to end, about 6 % of CPU).
GATHER_SECONDS = 0.005
# While API clients are being served in this process (`kit/load.py`), jobs run in batches of
# at most BUSY_BATCH, one batch at a time, each followed by a rest of BUSY_REST times as long
# as the batch took (at most BUSY_REST_CAP seconds): the workers keep about a fifth of the
# loop. Batches, not one job at a time: a lone job pays a claim and a commit of its own, and
# end to end a message cost twice the CPU that way.
BUSY_BATCH = 4
BUSY_REST = 4.0
BUSY_REST_CAP = 0.25


class Retry(Exception):
    """Run this job again after `delay` seconds (its attempt still counts)."""

    def __init__(self, delay: float, reason: str = "") -> None:
        super().__init__(reason or f"retry in {delay:.1f}s")
        self.delay = delay


@dataclass
class Job:
    id: int
    kind: str
    project_id: str
    app_id: str | None
    payload: dict[str, Any]
    attempts: int
    ordering_key: str | None
    worker: str
    completed: bool = False

    async def complete(self, session: AsyncSession) -> None:
        """Delete the job in the caller's transaction (only if this worker still holds it)."""
        await session.execute(*self.completion())
        self.completed = True

    async def complete_with(self, committer: GroupCommitter, writes: list[Write]) -> None:
        """Group-commit the handler's last `writes` and the job's deletion together."""
        await committer.write([*writes, self.completion()])
        self.completed = True

    def completion(self) -> Write:
        return _COMPLETE, {"id": self.id, "worker": self.worker}


Handler = Callable[[Job], Awaitable[None]]


def worker_name() -> str:
    """This process's name on the jobs it holds: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def backoff(attempts: int, *, base: float = 1.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(base / 2, min(cap, base * 2 ** max(attempts - 1, 0)))


@dataclass
class Worker:
    db: Database
    handlers: dict[str, Handler]
    # Called once when a job of that kind is given up (kept as dead), so the state that
    # waited on it can end cleanly (a message that could not be dispatched fails).
    on_dead: dict[str, Handler] = field(default_factory=dict)
    concurrency: int = 32
    batch: int = 32
    # API clients served by this process come first (`kit/load.py`, BUSY_BATCH).
    load: RequestLoad | None = None
    # Kinds that may hold at most this many slots at once.
    lanes: dict[str, int] = field(default_factory=dict)
    name: str = field(default_factory=worker_name)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    _running: Counter[str] = field(default_factory=Counter, init=False)

    def __post_init__(self) -> None:
        self._room = asyncio.Event()
        self._room.set()
        # The running busy-mode batch's start (monotonic), and when the rest after it ends.
        self._batch_started: float | None = None
        self._rest_until = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        listener = (
            asyncio.create_task(self._listen(stop)) if self.db.dialect == "postgresql" else None
        )
        heartbeat = asyncio.create_task(self._renew_leases(stop))
        try:
            while not stop.is_set():
                await self._room.wait()
                if self.load is not None and self.load.busy():
                    await self._busy_turn(stop)
                    continue
                free = self.concurrency - len(self._tasks)
                claimed = await self._claim_safely(min(self.batch, free)) if free > 0 else []
                self._start(claimed)
                if len(self._tasks) >= self.concurrency:
                    self._room.clear()
                elif not claimed:
                    await signals.wait(stop, seconds=POLL_SECONDS)
                elif len(claimed) < self.batch:
                    await asyncio.sleep(GATHER_SECONDS)
        finally:
            heartbeat.cancel()
            if listener is not None:
                listener.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=15)

    async def _busy_turn(self, stop: asyncio.Event) -> None:
        """One step while the API is busy: wait for the batch running to end, rest, or
        start the next batch."""
        if self._tasks:
            self._room.clear()  # the last job of the batch sets it
            return
        rest = self._rest_until - time.monotonic()
        if rest > 0:  # jobs committed meanwhile wait for the rest's end, not wake it
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=rest)
            return
        claimed = await self._claim_safely(min(BUSY_BATCH, self.batch, self.concurrency))
        if not claimed:
            await signals.wait(stop, seconds=POLL_SECONDS)
            return
        self._batch_started = time.monotonic()
        self._start(claimed)
        self._room.clear()

    def _start(self, jobs: list[Job]) -> None:
        for job in jobs:
            self._running[job.kind] += 1
            task = asyncio.create_task(self._run(job))
            self._tasks.add(task)
            task.add_done_callback(functools.partial(self._finished, job))

    def _finished(self, job: Job, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        lane_was_full = self._running[job.kind] == self.lanes.get(job.kind)
        self._running[job.kind] -= 1
        self._room.set()
        if not self._tasks and self._batch_started is not None:
            took = time.monotonic() - self._batch_started
            self._rest_until = time.monotonic() + min(BUSY_REST_CAP, BUSY_REST * took)
            self._batch_started = None
        if lane_was_full or job.ordering_key is not None:
            signals.notify_local()

    async def _claim_safely(self, limit: int) -> list[Job]:
        try:
            return await self._claim_within_lanes(limit)
        except Exception as exc:
            log_failure(log, "claiming jobs", exc)
        await asyncio.sleep(POLL_SECONDS)
        return []

    async def _claim_within_lanes(self, limit: int) -> list[Job]:
        """Up to `limit` jobs, none beyond its kind's lane. One claim when the lanes have
        room for a whole batch; else the laned kinds' share first, then the others'."""
        rooms = {
            kind: cap - self._running[kind]
            for kind, cap in self.lanes.items()
            if kind in self.handlers
        }
        laned = [kind for kind, room in rooms.items() if room > 0]
        others = [kind for kind in self.handlers if kind not in rooms]
        if all(room >= limit for room in rooms.values()):
            return await self.claim(limit)
        jobs: list[Job] = []
        for kind in laned:
            if len(jobs) < limit:
                jobs += await self.claim(min(rooms[kind], limit - len(jobs)), [kind])
        if limit > len(jobs) and others:
            jobs += await self.claim(limit - len(jobs), others)
        return jobs

    async def claim(self, limit: int, kinds: list[str] | None = None) -> list[Job]:
        now = utcnow()
        kinds = list(self.handlers) if kinds is None else kinds
        async with self.db.write_sessions() as session:
            rows = await session.execute(
                _CLAIM,
                {
                    "now": now,
                    "kinds": kinds,
                    "limit": limit,
                    "worker": self.name,
                    "lease": now + LEASE,
                },
            )
            jobs = [Job(*row, worker=self.name) for row in rows.all()]
            await session.commit()
        jobs.sort(key=lambda j: j.id)
        return jobs

    async def _run(self, job: Job) -> None:
        started = time.perf_counter()
        outcome = "interrupted"  # unless set below: cancelled as the process stops
        try:
            await self.handlers[job.kind](job)
            if not job.completed:
                async with self.db.write_sessions() as session:
                    await job.complete(session)
                    await session.commit()
            outcome = "completed"
        except Retry as retry:
            outcome = "retried"
            await self._reschedule(job, retry.delay, str(retry), dead=False)
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.kind)
            dead = job.attempts >= MAX_ATTEMPTS
            outcome = "dead" if dead else "failed"
            await self._reschedule(job, backoff(job.attempts), repr(exc)[:2000], dead=dead)
            if dead and job.kind in self.on_dead:
                try:
                    await self.on_dead[job.kind](job)
                except Exception:
                    log.exception("the dead-job handler of job %s (%s) failed", job.id, job.kind)
        finally:
            JOB_DURATION.labels(job.kind).observe(time.perf_counter() - started)
            JOBS.labels(job.kind, outcome).inc()

    async def _reschedule(self, job: Job, delay: float, error: str, *, dead: bool) -> None:
        with contextlib.suppress(Exception):
            async with self.db.write_sessions() as session:
                await session.execute(
                    update(OutboxJob)
                    .where(OutboxJob.id == job.id, OutboxJob.locked_by == self.name)
                    .values(
                        status="dead" if dead else "pending",
                        run_after=utcnow() + timedelta(seconds=delay),
                        lease_until=None,
                        locked_by=None,
                        last_error=error,
                    )
                )
                await session.commit()
            signals.notify_local()

    async def _renew_leases(self, stop: asyncio.Event) -> None:
        """Renew this worker's leases, and give back the jobs of workers whose leases ran
        out (they died): those become pending again and are claimed as any other."""
        while not stop.is_set():
            await asyncio.sleep(HEARTBEAT)
            try:
                async with self.db.write_sessions() as session:
                    now = utcnow()
                    if self._tasks:
                        await session.execute(
                            update(OutboxJob)
                            .where(OutboxJob.locked_by == self.name, OutboxJob.status == "running")
                            .values(lease_until=now + LEASE)
                        )
                    released = await session.execute(
                        update(OutboxJob)
                        .where(OutboxJob.status == "running", OutboxJob.lease_until < now)
                        .values(status="pending", locked_by=None, lease_until=None)
                    )
                    await session.commit()
                if released.rowcount:
                    log.warning("released %d jobs of workers that stopped", released.rowcount)
                    signals.notify_local()
            except Exception as exc:
                log_failure(log, "renewing job leases", exc)

    async def _listen(self, stop: asyncio.Event) -> None:
        """PostgreSQL: wake when any process commits a job."""
        import asyncpg

        url = self.db.url.replace("postgresql+asyncpg://", "postgresql://")
        while not stop.is_set():
            try:
                connection = await asyncpg.connect(url)
                await connection.add_listener(signals.CHANNEL, lambda *_: signals.notify_local())
                try:
                    await stop.wait()
                finally:
                    await connection.close()
            except Exception as exc:
                log_failure(log, "LISTEN (polling until it is back)", exc)
                await asyncio.sleep(2)


# Statements built once (Core, on the table): they run for every job or batch of jobs.
_jobs = OutboxJob.__table__
_COMPLETE = delete(_jobs).where(
    _jobs.c.id == bindparam("id"), _jobs.c.locked_by == bindparam("worker")
)
# Core on the table, subquery included: a statement with any ORM part takes the ORM's
# bulk-update path, which builds a new statement (and its cache key) every time.
_earlier = _jobs.alias("earlier")
_CLAIMABLE = (
    select(_jobs.c.id)
    .where(
        _jobs.c.status == "pending",
        _jobs.c.run_after <= bindparam("now"),
        _jobs.c.kind.in_(bindparam("kinds", expanding=True)),
        or_(
            _jobs.c.ordering_key.is_(None),
            ~exists().where(
                _earlier.c.ordering_key == _jobs.c.ordering_key,
                _earlier.c.id < _jobs.c.id,
                _earlier.c.status.in_(("pending", "running")),
            ),
        ),
    )
    .order_by(_jobs.c.priority.desc(), _jobs.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
# One statement: the claimable jobs' ids as a subquery (not correlated with the update's own
# table).
_CLAIM = (
    update(_jobs)
    .where(_jobs.c.id.in_(_CLAIMABLE.correlate(None)))
    .values(
        status="running",
        locked_by=bindparam("worker"),
        lease_until=bindparam("lease"),
        attempts=_jobs.c.attempts + 1,
    )
    .returning(
        _jobs.c.id,
        _jobs.c.kind,
        _jobs.c.project_id,
        _jobs.c.app_id,
        _jobs.c.payload,
        _jobs.c.attempts,
        _jobs.c.ordering_key,
    )
)


def next_run(moment: datetime | None) -> float:
    """Seconds from now until `moment` (0 when it has passed)."""
    if moment is None:
        return 0.0
    return max(0.0, (moment - utcnow()).total_seconds())


async def release_abandoned(db: Database, name: str) -> None:
    """SQLite: the database is a file on this machine, so a job still marked running by a
    process of this host that is gone (or by this process's name, from an earlier life under
    the same pid, as in a restarted container) was abandoned: it is claimable at once instead
    of after its lease. Jobs of live processes (a `chorus worker` beside this one) are left
    to them; those of other hosts, to their leases."""
    if db.dialect != "sqlite":
        return
    async with db.write_sessions() as session:
        holders = await session.scalars(
            select(OutboxJob.locked_by).where(OutboxJob.status == "running").distinct()
        )
        gone = [holder for holder in holders if holder == name or _gone(holder)]
        if gone:
            await session.execute(
                update(OutboxJob)
                .where(OutboxJob.status == "running", OutboxJob.locked_by.in_(gone))
                .values(status="pending", lease_until=None, locked_by=None)
            )
        await session.commit()


def _gone(holder: str | None) -> bool:
    """Whether the worker named `holder` was a process of this host that no longer runs."""
    host, _, pid = (holder or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False
