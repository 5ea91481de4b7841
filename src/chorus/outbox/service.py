"""Writing jobs to the outbox. Claiming and running them is the workers' business."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.ids import new_id
from chorus.models import OutboxJob


async def enqueue(
    session: AsyncSession,
    kind: str,
    *,
    project_id: str,
    payload: dict[str, Any],
    app_id: str | None = None,
    dedup_key: str | None = None,
) -> OutboxJob:
    """Add a job to the caller's transaction; it commits or vanishes with the caller's state.
    `dedup_key` makes a job idempotent: the same key is never queued twice."""
    job_id = new_id()
    job = OutboxJob(
        id=job_id,
        kind=kind,
        project_id=project_id,
        app_id=app_id,
        payload=payload,
        dedup_key=dedup_key or f"{kind}:{job_id}",
    )
    session.add(job)
    return job
