"""Token buckets kept in the database, so a limit holds across every process sharing it."""

from datetime import UTC

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.clock import utcnow
from chorus.kit.db import insert_ignoring_conflicts
from chorus.models import RateBucket


async def take_token(session: AsyncSession, key: str, rate: float, burst: float) -> float:
    """Take `1` token from bucket `key` (refilled at `rate` per second, holding at most
    `burst`). Returns 0 when taken, else the seconds until a token will be there."""
    now = utcnow()
    await session.execute(
        insert_ignoring_conflicts(
            session, RateBucket, {"key": key, "tokens": burst, "updated_at": now}
        )
    )
    bucket = await session.scalar(select(RateBucket).where(RateBucket.key == key).with_for_update())
    assert bucket is not None
    updated = (
        bucket.updated_at if bucket.updated_at.tzinfo else bucket.updated_at.replace(tzinfo=UTC)
    )
    tokens = min(burst, bucket.tokens + max(0.0, (now - updated).total_seconds()) * rate)
    bucket.updated_at = now
    if tokens >= 1:
        bucket.tokens = tokens - 1
        return 0.0
    bucket.tokens = tokens
    return (1 - tokens) / rate
