"""The console's SQL: the status histories of messages and events, and the cursors the live
stream watches."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.models import (
    AccessKey,
    App,
    CallbackAttempt,
    CallbackDelivery,
    ConversationEvent,
    EventStatus,
    Message,
    MessageStatus,
    OutboxJob,
    Project,
    SimulatedHandset,
    SimulatedMessage,
    Webhook,
)


def _entry(status: MessageStatus | EventStatus) -> dict[str, Any]:
    return {
        "status": status.status,
        "channel": status.channel,
        "reason": status.reason,
        "at": status.at.isoformat().replace("+00:00", "Z"),
    }


async def statuses_of_conversation(
    session: AsyncSession, project_id: str, conversation_id: str
) -> dict[str, list[dict[str, Any]]]:
    """Every status each message of the conversation passed through, oldest first."""
    rows = await session.execute(
        select(MessageStatus)
        .join(Message, Message.id == MessageStatus.message_id)
        .where(Message.project_id == project_id, Message.conversation_id == conversation_id)
        .order_by(MessageStatus.id)
    )
    history: dict[str, list[dict[str, Any]]] = {}
    for status in rows.scalars():
        history.setdefault(status.message_id, []).append(_entry(status))
    return history


async def statuses_of_message(
    session: AsyncSession, project_id: str, message_id: str
) -> list[dict[str, Any]] | None:
    message = await session.get(Message, message_id)
    if message is None or message.project_id != project_id:
        return None
    rows = await session.execute(
        select(MessageStatus)
        .where(MessageStatus.message_id == message_id)
        .order_by(MessageStatus.id)
    )
    return [_entry(s) for s in rows.scalars()]


async def event_statuses_of_conversation(
    session: AsyncSession, project_id: str, conversation_id: str
) -> dict[str, list[dict[str, Any]]]:
    """Every status each app event of the conversation passed through, oldest first
    (contact events have none)."""
    rows = await session.execute(
        select(EventStatus)
        .join(ConversationEvent, ConversationEvent.id == EventStatus.event_id)
        .where(
            ConversationEvent.project_id == project_id,
            ConversationEvent.conversation_id == conversation_id,
        )
        .order_by(EventStatus.id)
    )
    history: dict[str, list[dict[str, Any]]] = {}
    for status in rows.scalars():
        history.setdefault(status.event_id, []).append(_entry(status))
    return history


@dataclass(frozen=True)
class Cursors:
    """The newest row of each kind: when one moves, the pages showing that kind re-read.

    Each is the maximum of a primary key, so a look costs an index probe whatever the size of
    the tables (apps and webhooks, few rows, are counted and their last change read); they
    are deployment-wide, and the stream shows them only hashed with the
    project (a page may re-read for another project's activity, and learns nothing of it)."""

    messages: tuple[Any, ...]
    deliveries: tuple[Any, ...]
    handsets: tuple[Any, ...]
    apps: tuple[Any, ...]


async def cursors(session: AsyncSession) -> Cursors:
    async def newest(column: Any) -> Any:
        return await session.scalar(select(func.max(column)))

    return Cursors(
        # New messages and events, each status a message passed, and every piece of work
        # queued (an event's outcome, a contact's creation).
        messages=(
            await newest(Message.id),
            await newest(MessageStatus.id),
            await newest(ConversationEvent.id),
            await newest(EventStatus.id),
            await newest(OutboxJob.id),
        ),
        deliveries=(await newest(CallbackDelivery.id), await newest(CallbackAttempt.id)),
        handsets=(await newest(SimulatedMessage.id), await newest(SimulatedHandset.created_at)),
        # Apps and webhooks: created, changed (a credential's registration state moves in
        # the background) or deleted. Small tables: counting them is cheap.
        apps=(
            await session.scalar(select(func.count()).select_from(App)),
            await newest(App.updated_at),
            await session.scalar(select(func.count()).select_from(Webhook)),
            await newest(Webhook.updated_at),
        ),
    )


async def local_project(session: AsyncSession, preferred: str | None) -> tuple[str, str] | None:
    """(project id, one of its key ids) of the project a local console signs in to: the
    bootstrap project when configured, else the oldest one (the dev project)."""
    query = select(AccessKey.project_id, AccessKey.id).join(
        Project, Project.id == AccessKey.project_id
    )
    if preferred:
        query = query.where(Project.id == preferred)
    row = (
        await session.execute(query.order_by(Project.created_at, AccessKey.created_at).limit(1))
    ).first()
    return None if row is None else (row[0], row[1])
