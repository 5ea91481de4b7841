"""Token buckets kept in the database, so a limit holds across every process sharing it."""

import asyncio
import time
from datetime import UTC

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chorus.kit.clock import utcnow
from chorus.kit.db import insert_ignoring_conflicts
from chorus.models import RateBucket

# Tokens a process has taken from a shared bucket and not yet used, per bucket key.
_leased: dict[str, float] = {}
LEASE_SECONDS = 0.05


async def take_token(session: AsyncSession, key: str, rate: float, burst: float) -> float:
    """Take `1` token from bucket `key` (refilled at `rate` per second, holding at most
    `burst`). Returns 0 when taken, else the seconds until a token will be there.

    The process leases tokens from the shared bucket in chunks of `LEASE_SECONDS` worth of
    the rate (one token at low rates), so a fast drain costs a query per chunk, not per
    message, and the limit still holds across processes."""
    chunk = max(1.0, min(burst, rate * LEASE_SECONDS))
    held = min(_leased.get(key, 0.0), chunk)  # the rate may have been lowered since the lease
    if held < 1:
        held += await lease_tokens(session, key, chunk - held, rate, burst)
    if held >= 1:
        _leased[key] = held - 1
        return 0.0
    _leased[key] = held
    return (1 - held) / rate


async def lease_tokens(
    session: AsyncSession, key: str, wanted: float, rate: float, burst: float
) -> float:
    """Take up to `wanted` tokens from the shared bucket; returns how many were granted."""
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
    granted = min(wanted, max(0.0, tokens))
    bucket.tokens = tokens - granted
    bucket.updated_at = now
    return granted


class ProjectRequestLimiter:
    """The per-project request rate (Decision 9). Each process keeps a local bucket; when a
    database is shared (PostgreSQL), processes lease their tokens in small chunks from one
    bucket per project in the database, so the limit holds across all of them while
    costing one query per chunk rather than per request."""

    CHUNK_SECONDS = 0.05

    def __init__(self, rate: float, sessions: async_sessionmaker[AsyncSession] | None) -> None:
        self.rate = rate
        self.sessions = sessions
        self._local: dict[str, tuple[float, float]] = {}  # project → (tokens, at)
        self._locks: dict[str, asyncio.Lock] = {}

    async def retry_after(self, project_id: str) -> float:
        """0 when the request may go ahead, else seconds to wait."""
        now = time.monotonic()
        tokens, at = self._local.get(project_id, (self.rate if self.sessions is None else 0.0, now))
        if self.sessions is None:
            tokens = min(self.rate, tokens + (now - at) * self.rate)
        if tokens >= 1:
            self._local[project_id] = (tokens - 1, now)
            return 0.0
        if self.sessions is not None:
            lock = self._locks.setdefault(project_id, asyncio.Lock())
            async with lock:
                tokens, _ = self._local.get(project_id, (0.0, now))
                if tokens < 1:
                    async with self.sessions() as session:
                        tokens += await lease_tokens(
                            session,
                            f"project-requests:{project_id}",
                            max(1.0, self.rate * self.CHUNK_SECONDS),
                            self.rate,
                            self.rate,
                        )
                        await session.commit()
                if tokens >= 1:
                    self._local[project_id] = (tokens - 1, now)
                    return 0.0
                self._local[project_id] = (tokens, now)
        else:
            self._local[project_id] = (tokens, now)
        return max(0.001, (1 - tokens) / self.rate)
