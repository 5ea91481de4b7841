"""Wake-ups for workers: in-process when a job is committed here, and through PostgreSQL's
NOTIFY when any process commits one (see `enqueue` and `Worker._listen`)."""

import asyncio
import contextlib
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

CHANNEL = "chorus_outbox"
ENQUEUED = "chorus_jobs_enqueued"
_wake = asyncio.Event()


def notify_local() -> None:
    _wake.set()


async def wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep until a job may be ready, the worker stops, or `seconds` pass."""
    waiters = [asyncio.ensure_future(_wake.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        _wake.clear()


def mark_enqueued(session: Any) -> None:
    session.info[ENQUEUED] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(ENQUEUED, False):
        with contextlib.suppress(RuntimeError):
            notify_local()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(ENQUEUED, None)
