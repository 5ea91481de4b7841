"""Writing jobs to the outbox, reading its backlog (`/metrics`), and the operator's hand on
it (`chorus jobs`: list jobs, retry or drop those given up). Claiming and running them is
`outbox.worker`'s business."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.clock import utcnow
from chorus.kit.db import notify_at_commit
from chorus.kit.group_commit import TableRow
from chorus.kit.ids import new_id
from chorus.models import OutboxJob
from chorus.outbox import signals

_INSERT_JOB = insert(OutboxJob.__table__)


class Priority(IntEnum):
    """Claim order, highest first (then oldest first).

    New sends wait behind the work that finishes what is under way: callbacks about what
    already happened, and the simulated channels' own reports (a real channel does not
    wait for chorus's queue). Under a burst, reports keep flowing instead of queuing
    behind every send accepted since."""

    SEND = 0
    SEND_HIGH = 1  # `queue: HIGH_PRIORITY`
    FOLLOW_UP = 2

    @classmethod
    def of_send(cls, queue: str | None) -> "Priority":
        """A message's or event's dispatch, by the `queue` of its send."""
        return cls.SEND_HIGH if queue == "HIGH_PRIORITY" else cls.SEND


def job_row(
    kind: str,
    *,
    project_id: str,
    payload: dict[str, Any],
    app_id: str | None = None,
    dedup_key: str | None = None,
    ordering_key: str | None = None,
    priority: int = 0,
) -> TableRow:
    """A job as a row, for callers that write it themselves (the group-committed send path)."""
    return OutboxJob.__table__, {
        "kind": kind,
        "project_id": project_id,
        "app_id": app_id,
        "payload": payload,
        "dedup_key": dedup_key or f"{kind}:{new_id()}",
        "ordering_key": ordering_key,
        "priority": priority,
    }


async def enqueue(
    session: AsyncSession,
    kind: str,
    *,
    project_id: str,
    payload: dict[str, Any],
    app_id: str | None = None,
    dedup_key: str | None = None,
    ordering_key: str | None = None,
    priority: int = 0,
    run_after: datetime | None = None,
) -> None:
    """Add a job to the caller's transaction; it commits or vanishes with the caller's state.
    `dedup_key` makes a job idempotent: the same key is never queued twice."""
    # This process's workers wake when the transaction commits; on PostgreSQL every other
    # process's too, notified by the table's trigger (migration 0008).
    signals.mark_enqueued(session)
    _, row = job_row(
        kind,
        project_id=project_id,
        payload=payload,
        app_id=app_id,
        dedup_key=dedup_key,
        ordering_key=ordering_key,
        priority=priority,
    )
    if run_after is not None:
        row["run_after"] = run_after
    # A Core insert, not `session.add`: every send, report and callback queues jobs, and
    # the unit of work costs several times the statement itself.
    await session.execute(_INSERT_JOB, row)


@dataclass(frozen=True)
class Backlog:
    kind: str
    status: str  # pending | running | dead
    jobs: int
    # How long the oldest pending job that is due has waited to be claimed (0 when none).
    lag_seconds: float


async def backlog(session: AsyncSession) -> list[Backlog]:
    """Jobs by kind and status (the outbox holds only work not yet done, so it stays small)."""
    now = utcnow()
    due = and_(OutboxJob.status == "pending", OutboxJob.run_after <= now)
    rows = await session.execute(
        select(
            OutboxJob.kind,
            OutboxJob.status,
            func.count(),
            func.min(case((due, OutboxJob.run_after))),
        )
        .group_by(OutboxJob.kind, OutboxJob.status)
        .order_by(OutboxJob.kind, OutboxJob.status)
    )
    return [
        Backlog(kind, status, count, _seconds_since(oldest, now))
        for kind, status, count, oldest in rows.all()
    ]


def _seconds_since(moment: datetime | None, now: datetime) -> float:
    return 0.0 if moment is None else max(0.0, (now - moment).total_seconds())


# --- the operator's hand (`chorus jobs`) ------------------------------------------------

DEAD = "dead"
STATUSES = ("pending", "running", DEAD)


async def list_jobs(
    session: AsyncSession, *, status: str | None, kind: str | None, limit: int
) -> Sequence[OutboxJob]:
    """Jobs, oldest first, of one status and kind when given."""
    query = select(OutboxJob).order_by(OutboxJob.id).limit(limit)
    if status is not None:
        query = query.where(OutboxJob.status == status)
    if kind is not None:
        query = query.where(OutboxJob.kind == kind)
    return (await session.scalars(query)).all()


def _dead(ids: list[int] | None, kind: str | None) -> list[Any]:
    """The conditions naming dead jobs: those of `ids` (every one when None), of `kind`."""
    conditions: list[Any] = [OutboxJob.status == DEAD]
    if ids is not None:
        conditions.append(OutboxJob.id.in_(ids))
    if kind is not None:
        conditions.append(OutboxJob.kind == kind)
    return conditions


async def retry_dead(session: AsyncSession, ids: list[int] | None, kind: str | None) -> int:
    """Give dead jobs a fresh start (pending now, no attempts counted); how many. Their last
    error stays until they succeed. Jobs that are not dead are left alone."""
    result = await session.execute(
        update(OutboxJob)
        .where(*_dead(ids, kind))
        .values(status="pending", attempts=0, run_after=utcnow(), lease_until=None, locked_by=None)
    )
    if result.rowcount:
        # Wake listening workers (the table's trigger fires on inserts only).
        await notify_at_commit(session, signals.CHANNEL)
    return result.rowcount


async def drop_dead(session: AsyncSession, ids: list[int] | None, kind: str | None) -> int:
    """Delete dead jobs; how many. Jobs that are not dead are left alone."""
    result = await session.execute(delete(OutboxJob).where(*_dead(ids, kind)))
    return result.rowcount
