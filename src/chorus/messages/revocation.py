"""Delivery timeouts: a message the channel has not delivered in time is revoked, and the
next candidate is tried (CHANNELS.md §3.3, RCS).

When a channel has a `<channel>_delivery_timeout` setting, the dispatch tells the channel
(`Dispatch.delivery_timeout`: RBM's `ttl`) and, in the transaction that records
QUEUED_ON_CHANNEL, queues a revocation job for when it runs out. If the message is still
QUEUED_ON_CHANNEL on that channel then, chorus revokes it; a message the channel took back
fails on that channel with DELIVERY_TIMED_OUT (SWITCHING_CHANNEL to the next candidate, or
FAILED), one it had delivered meanwhile is left to its report.
"""

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from chorus.apps import repository as apps
from chorus.channels.base import ChannelFailure
from chorus.channels.registry import plugin_for
from chorus.kit.clock import utcnow
from chorus.messages import status
from chorus.models import Message
from chorus.outbox.service import Priority, enqueue
from chorus.outbox.worker import Job, Retry, backoff
from chorus.runtime import Runtime
from chorus.wire.messages import ReasonCode

REVOKE_JOB = "messages.revoke_undelivered"
ATTEMPTS = 8  # about two minutes of a channel that does not answer (backoff from 2 s)


async def watch_for_delivery(
    session: AsyncSession, message: Message, index: int, native_id: str, after: float
) -> None:
    """Queue the revocation of candidate `index`'s send, due `after` seconds from now."""
    await enqueue(
        session,
        REVOKE_JOB,
        project_id=message.project_id,
        app_id=message.app_id,
        payload={"message_id": message.id, "candidate_index": index, "native_id": native_id},
        dedup_key=f"revoke:{message.id}:{index}",
        priority=Priority.FOLLOW_UP,
        run_after=utcnow() + timedelta(seconds=after),
    )


async def run_revoke(runtime: Runtime, job: Job) -> None:
    index = job.payload["candidate_index"]
    async with runtime.db.read_sessions() as session:
        message = await session.get(Message, job.payload["message_id"])
        app = await apps.get(session, message.project_id, message.app_id) if message else None
    if message is None or app is None or not _undelivered(message, index):
        return
    chosen = status.candidate(message, index)
    plugin = plugin_for(chosen["channel"]) if chosen else None
    credential = next(
        (c for c in app.channel_credentials if chosen and c["channel"] == chosen["channel"]),
        None,
    )
    if chosen is None or plugin is None or credential is None:
        return
    try:
        revoked = await plugin.revoke(
            runtime.channels,
            runtime.channel_base_url(chosen["channel"], plugin.production_base_url),
            credential,
            chosen["identity"],
            job.payload["native_id"],
        )
    except ChannelFailure as failure:
        if failure.transient and job.attempts < ATTEMPTS:
            raise Retry(backoff(job.attempts, base=2.0, cap=300.0), failure.description) from None
        revoked = False  # left to the channel's reports
    if not revoked:
        return
    async with runtime.db.write_sessions() as session:
        locked = await status.lock(session, message.id)
        if locked is not None and _undelivered(locked, index):
            await status.fail(
                session,
                locked,
                status.reason(
                    ReasonCode.DELIVERY_TIMED_OUT,
                    f"not delivered within the {chosen['channel']} delivery timeout; revoked",
                ),
            )
        await job.complete(session)
        await session.commit()


def _undelivered(message: Message, index: int) -> bool:
    return message.candidate_index == index and message.status == status.QUEUED_ON_CHANNEL
