"""Rests of silent servers, shared by every process on the database.

Each process's breakers (`kit/breaker.py`) count failed attempts in memory. The rests they
begin, extend or end are written to `resting_origins`, and every process reads them back as
it starts and every `SYNC_SECONDS`: when one process finds a channel API or a webhook
receiver silent, the others stop calling it too within seconds, a restarted process
remembers, and an answer to any process's probe ends the rest for all. A row whose rest
ended long ago (nobody called the origin since) is dropped after `FORGET_AFTER`.
"""

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.callbacks.tasks import RECEIVERS
from chorus.kit.breaker import Breakers, Rest
from chorus.kit.clock import utcnow
from chorus.kit.db import Database, log_failure, upsert
from chorus.models import RestingOrigin
from chorus.runtime import Runtime

SYNC_SECONDS = 2.0
FORGET_AFTER = timedelta(days=1)
log = logging.getLogger("chorus.rests")


def roles(runtime: Runtime) -> dict[str, Breakers]:
    """This process's breakers, by the role of the servers they watch."""
    return {"channel_api": runtime.channel_breakers, "webhook_receiver": RECEIVERS}


async def share(db: Database, breakers: dict[str, Breakers]) -> None:
    """Write this process's changes (when there are any), then take in every process's
    rests."""
    moment = time.monotonic()
    changes = {role: ours.changes(moment) for role, ours in breakers.items()}
    if any(opened or closed for opened, closed in changes.values()):
        async with db.write_sessions() as session:
            await _write(session, changes)
            await session.commit()
    async with db.read_sessions() as session:
        rows = (await session.scalars(select(RestingOrigin))).all()
    moment, now = time.monotonic(), utcnow()
    for role, ours in breakers.items():
        ours.adopt(
            {
                row.origin: Rest(
                    row.failures, row.cool_down, (row.resting_until - now).total_seconds()
                )
                for row in rows
                if row.role == role
            },
            moment,
        )


async def _write(
    session: AsyncSession, changes: dict[str, tuple[dict[str, Rest], set[str]]]
) -> None:
    now = utcnow()
    for role, (opened, closed) in changes.items():
        for key, rest in opened.items():
            row = {
                "role": role,
                "origin": key,
                "failures": rest.failures,
                "cool_down": rest.cool_down,
                "resting_until": now + timedelta(seconds=rest.remaining),
            }
            await session.execute(
                upsert(session, RestingOrigin.__table__, row, key=["role", "origin"])
            )
        if closed:
            await session.execute(
                delete(RestingOrigin).where(
                    RestingOrigin.role == role, RestingOrigin.origin.in_(closed)
                )
            )
    await session.execute(
        delete(RestingOrigin).where(RestingOrigin.resting_until < now - FORGET_AFTER)
    )


async def keep_sharing(db: Database, breakers: dict[str, Breakers], stop: asyncio.Event) -> None:
    """`share` every `SYNC_SECONDS` until `stop`, and once more then (a rest begun in the
    last moments outlives the process)."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SYNC_SECONDS)
        try:
            await share(db, breakers)
        except Exception as exc:
            log_failure(log, "sharing the rests of silent servers", exc)
