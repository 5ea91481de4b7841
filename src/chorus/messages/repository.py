"""SQL for messages."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.pagination import newest_first
from chorus.models import ChannelMessageRef, ConversationEvent, Message, OutboxJob
from chorus.wire.identities import stored_forms

# Built once (kit/db.py, "Statements"): every report and reply looks one up.
_REF = select(ChannelMessageRef).where(
    ChannelMessageRef.channel == bindparam("channel"),
    ChannelMessageRef.native_id == bindparam("native_id"),
)


async def channel_ref(
    session: AsyncSession, channel: str, native_id: str
) -> ChannelMessageRef | None:
    """Which message (and candidate) a channel's own message id stands for."""
    return await session.scalar(_REF, {"channel": channel, "native_id": native_id})


async def lock_traffic(
    session: AsyncSession,
    project_id: str,
    *,
    app_id: str | None = None,
    conversations: Select | Sequence[str] | None = None,
) -> None:
    """Lock, in id order, the messages and events of an app (or of some conversations) that
    are about to be deleted with it, before the delete locks the app's (conversation's,
    contact's) own row. Workers lock a message or an event first, then write its
    conversation, which waits on the app and contact rows through foreign keys: a delete
    that held those rows and then waited for the message deadlocked with them (PostgreSQL;
    SQLite's single writer serialises anyway)."""
    for table in (Message, ConversationEvent):
        query = select(table.id).where(table.project_id == project_id)
        if app_id is not None:
            query = query.where(table.app_id == app_id)
        if conversations is not None:
            query = query.where(table.conversation_id.in_(conversations))
        await session.execute(query.order_by(table.id).with_for_update())


@dataclass(frozen=True)
class MessageFilter:
    project_id: str
    processing_mode: str
    conversation_id: str | None = None
    contact_id: str | None = None
    app_id: str | None = None
    identity: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    channel: str | None = None
    direction: str | None = None


def _filtered(where: MessageFilter) -> Select[tuple[Message]]:
    query = select(Message).where(
        Message.project_id == where.project_id,
        Message.processing_mode == where.processing_mode,
        Message.listed.is_(True),
    )
    for column, value in (
        (Message.conversation_id, where.conversation_id),
        (Message.contact_id, where.contact_id),
        (Message.app_id, where.app_id),
        (Message.channel, where.channel),
        (Message.direction, where.direction),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.identity is not None:
        query = query.where(Message.identity.in_(stored_forms(where.identity, where.channel)))
    if where.start_time is not None:
        query = query.where(Message.accept_time >= where.start_time)
    if where.end_time is not None:
        query = query.where(Message.accept_time < where.end_time)
    return query


def _newest_first_after(
    query: Select[tuple[Message]], after: tuple[datetime, str] | None
) -> Select[tuple[Message]]:
    return newest_first(query, Message.accept_time, Message.id, after)


async def page(
    session: AsyncSession, where: MessageFilter, after: tuple[datetime, str] | None, limit: int
) -> Sequence[Message]:
    result = await session.scalars(_newest_first_after(_filtered(where), after).limit(limit))
    return result.all()


async def last_per_key(
    session: AsyncSession,
    where: MessageFilter,
    *,
    identities: Sequence[str] | None,
    contact_ids: Sequence[str] | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[Message]:
    """The newest message per identity (or per contact) among those matching `where`."""
    key = Message.contact_id if contact_ids else Message.identity
    ranked = _filtered(where)
    if contact_ids:
        ranked = ranked.where(Message.contact_id.in_(contact_ids))
    elif identities:
        forms = [form for identity in identities for form in stored_forms(identity, where.channel)]
        ranked = ranked.where(Message.identity.in_(forms))
    numbered = ranked.add_columns(
        func.row_number()
        .over(partition_by=key, order_by=(Message.accept_time.desc(), Message.id.desc()))
        .label("rank")
    ).subquery()
    newest = select(Message).join(numbered, numbered.c.id == Message.id).where(numbered.c.rank == 1)
    result = await session.scalars(_newest_first_after(newest, after).limit(limit))
    return result.all()


async def get(
    session: AsyncSession, project_id: str, message_id: str, *, for_update: bool = False
) -> Message | None:
    message = await session.get(Message, message_id, with_for_update=for_update)
    if message is None or message.project_id != project_id or not message.listed:
        return None
    return message


async def queued_for_app(session: AsyncSession, app_id: str, kind: str) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(OutboxJob)
        .where(
            OutboxJob.app_id == app_id,
            OutboxJob.kind == kind,
            OutboxJob.status.in_(("pending", "running")),
        )
    )
    return count or 0


async def newest_per_conversation(
    session: AsyncSession, conversation_ids: Sequence[str]
) -> dict[str, Message]:
    """The newest stored message of each conversation (for `conversations:recent`)."""
    if not conversation_ids:
        return {}
    numbered = (
        select(
            Message.id,
            func.row_number()
            .over(
                partition_by=Message.conversation_id,
                order_by=(Message.accept_time.desc(), Message.id.desc()),
            )
            .label("rank"),
        )
        .where(Message.conversation_id.in_(conversation_ids))
        .subquery()
    )
    rows = await session.scalars(
        select(Message).join(numbered, numbered.c.id == Message.id).where(numbered.c.rank == 1)
    )
    return {m.conversation_id: m for m in rows if m.conversation_id}


async def latest_sent_to(
    session: AsyncSession,
    project_id: str,
    app_id: str,
    channel: str,
    identity: str,
    *,
    since: datetime | None = None,
    message_id: str | None = None,
) -> Message | None:
    """The app's latest message sent to the identity on `channel` (accepted `since`, when
    given; the one of `message_id`, when given): what a typed reply may answer, and
    DISPATCH mode's context of a reply."""
    query = select(Message).where(
        Message.project_id == project_id,  # ix_messages_identity
        Message.identity == identity,
        Message.app_id == app_id,
        Message.channel == channel,
        Message.direction == "TO_CONTACT",
    )
    if since is not None:
        query = query.where(Message.accept_time >= since)
    if message_id is not None:
        query = query.where(Message.id == message_id)
    return await session.scalar(
        query.order_by(Message.accept_time.desc(), Message.id.desc()).limit(1)
    )


async def last_inbound_at(
    session: AsyncSession, app_id: str, channel: str, identity: str
) -> datetime | None:
    """When the identity last wrote to the app on `channel` (sending windows)."""
    return await session.scalar(
        select(func.max(Message.accept_time)).where(
            Message.app_id == app_id,
            Message.channel == channel,
            Message.identity == identity,
            Message.direction == "TO_APP",
        )
    )


async def awaiting_report(
    session: AsyncSession,
    app_id: str,
    channel: str,
    identity: str,
    until: datetime,
    statuses: tuple[str, ...],
) -> list[str]:
    """Ids of app messages to the identity on `channel`, accepted by `until`, in one of
    `statuses`."""
    rows = await session.scalars(
        select(Message.id).where(
            Message.app_id == app_id,
            Message.channel == channel,
            Message.identity == identity,
            Message.direction == "TO_CONTACT",
            Message.status.in_(statuses),
            Message.accept_time <= until,
        )
    )
    return list(rows.all())
