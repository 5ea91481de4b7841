"""Retention: a sweep that applies each app's policies (API.md Part A §2.2, §2.4).

- MESSAGE_EXPIRE_POLICY: messages (and events) older than `ttl_days` are deleted.
- CONVERSATION_EXPIRE_POLICY: conversations whose last message is older than `ttl_days`
  are deleted with their messages; messages and events in no conversation (a send to a
  contact that does not exist) once they are older than `ttl_days`.
- PERSIST_RETENTION_POLICY: nothing is deleted.
- DISPATCH-mode messages and events follow `dispatch_retention_policy.ttl_days`; with 0
  they are never listed and are deleted a day after acceptance (the day leaves room for late
  reports).
- Delivered callbacks are kept 30 days for the delivery log; dead ones are kept until
  replayed or deleted with their app.
- Channel requests chorus refused, could not map or ignored (`inbound_requests`) are kept 30
  days for inspection.
- The ids of channel events already processed (`seen_inbound_events`) are kept 8 days: RBM
  retries an event for up to 7 days (CHANNELS.md part 1 §3.7); a repeat within that is dropped.

The sweep is an outbox job that schedules its own next run, so exactly one is pending
however many workers share the database.
"""

from datetime import timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.clock import EPOCH, utcnow
from chorus.kit.db import insert_ignoring_conflicts
from chorus.models import (
    App,
    CallbackDelivery,
    Conversation,
    ConversationEvent,
    InboundRequest,
    Message,
    OutboxJob,
    SeenInboundEvent,
)
from chorus.outbox.worker import Job
from chorus.runtime import JobHandler, Runtime
from chorus.wire.enums import ProcessingMode, RetentionType

SWEEP_JOB = "retention.sweep"
DISPATCH_GRACE = timedelta(days=1)
DELIVERED_CALLBACKS_KEPT = timedelta(days=30)
INBOUND_REQUESTS_KEPT = timedelta(days=30)
SEEN_EVENTS_KEPT = timedelta(days=8)


async def schedule_sweep(session: AsyncSession, after_seconds: float) -> None:
    """Make sure one sweep is pending within `after_seconds` (idempotent: the dedup key is
    fixed; one pending from a longer interval than this process's is brought forward)."""
    due = utcnow() + timedelta(seconds=after_seconds)
    await session.execute(
        insert_ignoring_conflicts(
            session,
            OutboxJob,
            {
                "kind": SWEEP_JOB,
                "project_id": "",
                "payload": {},
                "dedup_key": SWEEP_JOB,
                "priority": 0,
                "status": "pending",
                "attempts": 0,
                "run_after": due,
                "created_at": utcnow(),
            },
        )
    )
    await session.execute(
        update(OutboxJob)
        .where(
            OutboxJob.dedup_key == SWEEP_JOB,
            OutboxJob.status == "pending",
            OutboxJob.run_after > due,
        )
        .values(run_after=due)
    )


async def sweep(session: AsyncSession) -> None:
    now = utcnow()
    for app in (await session.scalars(select(App))).all():
        policy = app.retention_policy or {}
        days = int(policy.get("ttl_days") or 180)
        kind = policy.get("retention_type", RetentionType.MESSAGE_EXPIRE_POLICY.value)
        cutoff = now - timedelta(days=days)
        conversation_mode = Message.processing_mode == ProcessingMode.CONVERSATION.value
        if kind == RetentionType.MESSAGE_EXPIRE_POLICY.value:
            await session.execute(
                delete(Message).where(
                    Message.app_id == app.id, conversation_mode, Message.accept_time < cutoff
                )
            )
            await session.execute(
                delete(ConversationEvent).where(
                    ConversationEvent.app_id == app.id,
                    ConversationEvent.processing_mode == ProcessingMode.CONVERSATION.value,
                    ConversationEvent.accept_time < cutoff,
                )
            )
        elif kind == RetentionType.CONVERSATION_EXPIRE_POLICY.value:
            await session.execute(
                delete(Conversation).where(
                    Conversation.app_id == app.id,
                    func.coalesce(Conversation.last_received, EPOCH) < cutoff,
                    Conversation.created_at < cutoff,
                )
            )
            await session.execute(
                delete(Message).where(
                    Message.app_id == app.id,
                    conversation_mode,
                    Message.conversation_id.is_(None),
                    Message.accept_time < cutoff,
                )
            )
            await session.execute(
                delete(ConversationEvent).where(
                    ConversationEvent.app_id == app.id,
                    ConversationEvent.conversation_id.is_(None),
                    ConversationEvent.accept_time < cutoff,
                )
            )
        dispatch_days = int((app.dispatch_retention_policy or {}).get("ttl_days") or 0)
        dispatch_cutoff = now - (timedelta(days=dispatch_days) if dispatch_days else DISPATCH_GRACE)
        for table in (Message, ConversationEvent):
            await session.execute(
                delete(table).where(
                    table.app_id == app.id,
                    table.processing_mode == ProcessingMode.DISPATCH.value,
                    table.accept_time < dispatch_cutoff,
                )
            )
    await session.execute(
        delete(CallbackDelivery).where(
            CallbackDelivery.status == "delivered",
            or_(
                CallbackDelivery.delivered_at < now - DELIVERED_CALLBACKS_KEPT,
                and_(
                    CallbackDelivery.delivered_at.is_(None),
                    CallbackDelivery.created_at < now - DELIVERED_CALLBACKS_KEPT,
                ),
            ),
        )
    )
    await session.execute(
        delete(InboundRequest).where(InboundRequest.received_at < now - INBOUND_REQUESTS_KEPT)
    )
    await session.execute(
        delete(SeenInboundEvent).where(SeenInboundEvent.seen_at < now - SEEN_EVENTS_KEPT)
    )


async def run_sweep(runtime: Runtime, job: Job) -> None:
    async with runtime.db.write_sessions() as session:
        await sweep(session)
        await job.complete(session)
        await session.flush()
        await schedule_sweep(session, runtime.settings.retention_sweep_seconds)
        await session.commit()


HANDLERS: dict[str, JobHandler] = {SWEEP_JOB: run_sweep}
