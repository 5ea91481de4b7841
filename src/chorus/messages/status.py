"""The delivery status machine of app messages (API.md Part B §3.5–§3.7).

QUEUED → QUEUED_ON_CHANNEL → DELIVERED → READ, with SWITCHING_CHANNEL between candidates
and FAILED as the other end. A status never moves backwards, whatever order reports arrive
in: a report older than the message's state changes nothing and sends no callback. Every
change is recorded in the message's history and reported to MESSAGE_DELIVERY webhooks.
Callers hold the message row locked (`lock`) for the whole transaction.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.callbacks.events import record_event
from chorus.kit.clock import utcnow
from chorus.kit.group_commit import TableRow
from chorus.models import Message, MessageStatus
from chorus.outbox.service import Priority, enqueue, job_row
from chorus.wire.enums import WebhookTrigger
from chorus.wire.messages import ReasonCode

QUEUED = "QUEUED"
QUEUED_ON_CHANNEL = "QUEUED_ON_CHANNEL"
DELIVERED = "DELIVERED"
READ = "READ"
FAILED = "FAILED"
SWITCHING_CHANNEL = "SWITCHING_CHANNEL"

RANK = {QUEUED: 0, SWITCHING_CHANNEL: 0, QUEUED_ON_CHANNEL: 1, DELIVERED: 2, READ: 3}
TERMINAL = frozenset({READ, FAILED})
# Failures the next channel would meet as well: no fallback (§3.7). So are the TEMPLATE_*
# failures of resolving an omni template (`fail(everywhere=True)`); those of a channel's own
# template (found by its transcoder, or reported by the channel) are that channel's alone.
NO_FALLBACK = frozenset(
    code.value
    for code in (ReasonCode.MESSAGE_EXPIRED, ReasonCode.CONTACT_NOT_FOUND, ReasonCode.UNKNOWN_APP)
)

DISPATCH_JOB = "messages.dispatch"
# Core, not the unit of work: every status change of every message writes one.
_INSERT_STATUS = insert(MessageStatus.__table__)
# Built once (kit/db.py, "Statements"): every dispatch and report locks its message.
_LOCK = select(Message).where(Message.id == bindparam("id")).with_for_update()


def reason(code: ReasonCode, description: str, channel_code: str | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {
        "code": code.value,
        "description": description,
        "sub_code": "UNSPECIFIED_SUB_CODE",
    }
    if channel_code is not None:
        value["channel_code"] = channel_code
    return value


async def lock(session: AsyncSession, message_id: str) -> Message | None:
    """The message row, locked until the transaction ends (PostgreSQL; SQLite serialises
    writers anyway)."""
    return await session.scalar(_LOCK, {"id": message_id})


def candidate(message: Message, index: int | None = None) -> dict[str, Any] | None:
    candidates = message.candidates or []
    index = message.candidate_index if index is None else index
    return candidates[index] if 0 <= index < len(candidates) else None


def channel_identity(message: Message, index: int | None = None) -> dict[str, str]:
    chosen = candidate(message, index)
    if chosen is None:
        return {"channel": message.channel or "", "identity": message.identity or "", "app_id": ""}
    return {
        "channel": chosen["channel"],
        "identity": chosen["identity"],
        "app_id": chosen.get("app_id", ""),
    }


async def _emit(
    session: AsyncSession,
    message: Message,
    status: str,
    *,
    index: int | None = None,
    failure: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    identity = channel_identity(message, index)
    await session.execute(
        _INSERT_STATUS,
        {
            "message_id": message.id,
            "status": status,
            "channel": identity["channel"] or None,
            "identity": identity["identity"] or None,
            "reason": failure,
            "at": at or utcnow(),
        },
    )
    report: dict[str, Any] = {
        "message_id": message.id,
        "conversation_id": message.conversation_id or "",
        "status": status,
    }
    if identity["channel"]:  # a message that never had a channel (CONTACT_NOT_FOUND) names none
        report["channel_identity"] = identity
    report["contact_id"] = message.contact_id or _requested_contact(message)
    if failure is not None:
        report["reason"] = failure
    report["metadata"] = message.metadata_
    report["processing_mode"] = message.processing_mode
    await record_event(
        session,
        WebhookTrigger.MESSAGE_DELIVERY,
        project_id=message.project_id,
        app_id=message.app_id,
        payload_key="message_delivery_report",
        payload=report,
        # API.md §8.3: delivery and submit reports always carry the send's metadata.
        message_metadata=message.metadata_ or "",
        correlation_id=message.correlation_id,
        callback_url=message.callback_url,
        ordering_key=message.id,
        event_time=at,
    )


def _requested_contact(message: Message) -> str:
    """The contact the send named, when it never became the message's (no such contact)."""
    recipient = (message.send_options or {}).get("recipient") or {}
    return str(recipient.get("contact_id") or "")


async def submitted(session: AsyncSession, message: Message, index: int) -> None:
    """The channel accepted the message (candidate `index`): QUEUED_ON_CHANNEL, unless a
    report about it already arrived and moved it further."""
    if index != message.candidate_index or message.status in TERMINAL:
        return
    await record_event(
        session,
        WebhookTrigger.MESSAGE_SUBMIT,
        project_id=message.project_id,
        app_id=message.app_id,
        payload_key="message_submit_notification",
        payload={
            "message_id": message.id,
            "conversation_id": message.conversation_id or "",
            "channel_identity": channel_identity(message, index),
            "contact_id": message.contact_id or "",
            "submitted_message": message.app_message,
            "metadata": message.metadata_,
            "processing_mode": message.processing_mode,
        },
        message_metadata=message.metadata_ or "",
        correlation_id=message.correlation_id,
        ordering_key=message.id,
    )
    if RANK.get(message.status, 0) >= RANK[QUEUED_ON_CHANNEL]:
        return
    await _move(session, message, QUEUED_ON_CHANNEL)


async def _move(
    session: AsyncSession,
    message: Message,
    status: str,
    *,
    failure: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    message.status = status
    message.reason = failure
    message.updated_at = utcnow()
    chosen = candidate(message)
    if chosen is not None:
        message.channel = chosen["channel"]
        message.identity = chosen["identity"]
        message.identity_app_id = chosen.get("app_id", "")
    await _emit(session, message, status, failure=failure, at=at)


async def channel_reported(
    session: AsyncSession,
    message: Message,
    status: str,
    index: int,
    *,
    failure: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """A channel's delivery report (DELIVERED, READ or FAILED) about candidate `index`."""
    if message.status in TERMINAL:
        return
    if index != message.candidate_index:
        # An abandoned channel: a late positive report is still forwarded, with that
        # channel's identity; its failures no longer matter.
        if status in (DELIVERED, READ) and index < message.candidate_index:
            await _emit(session, message, status, index=index, at=at)
        return
    if status == FAILED:
        if RANK.get(message.status, 0) >= RANK[DELIVERED]:
            return  # delivered is delivered: a later failure report would move it back
        await fail(session, message, failure or reason(ReasonCode.UNKNOWN, "failed"), at=at)
        return
    if RANK.get(message.status, 0) < RANK[QUEUED_ON_CHANNEL]:
        # The report overtook the record of the channel's acceptance: that comes first.
        await _move(session, message, QUEUED_ON_CHANNEL)
    if RANK[status] > RANK.get(message.status, 0):
        await _move(session, message, status, at=at)


async def fail(
    session: AsyncSession,
    message: Message,
    failure: dict[str, Any],
    *,
    at: datetime | None = None,
    everywhere: bool = False,
) -> bool:
    """The current candidate failed (at `at` on the channel, when it said): switch to the
    next one (and queue its dispatch), or end FAILED. `everywhere`: every channel would fail
    alike. Returns whether another channel will be tried."""
    if message.status in TERMINAL:
        return False
    has_next = message.candidate_index + 1 < len(message.candidates or [])
    if has_next and not everywhere and failure.get("code") not in NO_FALLBACK:
        if expired(message):  # API.md Part B §3.7: no fallback after the ttl
            failure = reason(
                ReasonCode.MESSAGE_EXPIRED,
                f"the message's ttl elapsed before another channel ({failure.get('description')})",
            )
        else:
            await _move(session, message, SWITCHING_CHANNEL, failure=failure, at=at)
            message.candidate_index += 1
            message.retry_since = None  # each channel has its own retry window
            await queue_dispatch(session, message)
            return True
    await _move(session, message, FAILED, failure=failure, at=at)
    return False


def expired(message: Message) -> bool:
    """Whether the message's ttl has elapsed."""
    return message.expire_at is not None and utcnow() >= message.expire_at


def _dispatch_job_fields(
    project_id: str, app_id: str, message_id: str, candidate_index: int, priority: int
) -> dict[str, Any]:
    """The dispatch job of the message's current candidate (one job per candidate)."""
    return {
        "project_id": project_id,
        "app_id": app_id,
        "payload": {"message_id": message_id},
        "dedup_key": f"dispatch:{message_id}:{candidate_index}",
        "priority": priority,
    }


async def queue_dispatch(session: AsyncSession, message: Message) -> None:
    """The next candidate's dispatch, in the queue the send asked for."""
    fields = _dispatch_job_fields(
        message.project_id,
        message.app_id,
        message.id,
        message.candidate_index,
        Priority.of_send((message.send_options or {}).get("queue")),
    )
    await enqueue(session, DISPATCH_JOB, **fields)


def dispatch_job_row(project_id: str, app_id: str, message_id: str, priority: int) -> TableRow:
    """A new message's first dispatch job as a row, for the group-committed send path."""
    return job_row(
        DISPATCH_JOB, **_dispatch_job_fields(project_id, app_id, message_id, 0, priority)
    )
