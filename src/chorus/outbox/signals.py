"""Wake-ups for workers: in-process when a job is committed here, and through PostgreSQL's
NOTIFY when any process commits one (sent by the `outbox_jobs` trigger of migration 0008;
see `Worker._listen`)."""

import asyncio
import contextlib
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

CHANNEL = "chorus_outbox"  # also written in migration 0008
ENQUEUED = "chorus_jobs_enqueued"
# One wake-up per event loop: an asyncio.Event belongs to the loop that first waits on it, and
# a process may run more than one loop in turn (tests do).
_wakes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Event] = (
    weakref.WeakKeyDictionary()
)


def _wake() -> asyncio.Event:
    loop = asyncio.get_running_loop()
    wake = _wakes.get(loop)
    if wake is None:
        wake = _wakes[loop] = asyncio.Event()
    return wake


def notify_local() -> None:
    """Wake this event loop's workers (a no-op outside a running loop: no worker waits there)."""
    with contextlib.suppress(RuntimeError):
        _wake().set()


async def wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep until a job may be ready, the worker stops, or `seconds` pass."""
    wake = _wake()
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        wake.clear()


def mark_enqueued(session: Any) -> None:
    session.info[ENQUEUED] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(ENQUEUED, False):
        notify_local()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(ENQUEUED, None)
