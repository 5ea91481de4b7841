"""The console's SQL: a message's status history, and the cursors the live stream watches."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.models import (
    AccessKey,
    CallbackAttempt,
    CallbackDelivery,
    Message,
    MessageStatus,
    Project,
    SimulatedHandset,
    SimulatedMessage,
)


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
        history.setdefault(status.message_id, []).append(
            {
                "status": status.status,
                "channel": status.channel,
                "reason": status.reason,
                "at": status.at.isoformat().replace("+00:00", "Z"),
            }
        )
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
    return [
        {
            "status": s.status,
            "channel": s.channel,
            "reason": s.reason,
            "at": s.at.isoformat().replace("+00:00", "Z"),
        }
        for s in rows.scalars()
    ]


@dataclass(frozen=True)
class Cursors:
    """The newest row of each kind a page shows: when one moves, that page re-reads."""

    messages: tuple[Any, ...]
    deliveries: tuple[Any, ...]
    handsets: tuple[Any, ...]


async def cursors(session: AsyncSession, project_id: str) -> Cursors:
    messages = (
        await session.execute(
            select(func.max(Message.id), func.max(Message.updated_at)).where(
                Message.project_id == project_id
            )
        )
    ).one()
    statuses = await session.scalar(
        select(func.max(MessageStatus.id))
        .join(Message, Message.id == MessageStatus.message_id)
        .where(Message.project_id == project_id)
    )
    deliveries = await session.scalar(
        select(func.max(CallbackDelivery.id)).where(CallbackDelivery.project_id == project_id)
    )
    attempts = await session.scalar(
        select(func.max(CallbackAttempt.id))
        .join(CallbackDelivery, CallbackDelivery.id == CallbackAttempt.delivery_id)
        .where(CallbackDelivery.project_id == project_id)
    )
    inbox = await session.scalar(select(func.max(SimulatedMessage.id)))
    handsets = (
        await session.execute(
            select(func.count(), func.max(SimulatedHandset.created_at)).select_from(
                SimulatedHandset
            )
        )
    ).one()
    return Cursors(
        messages=(messages[0], str(messages[1]), statuses),
        deliveries=(deliveries, attempts),
        handsets=(inbox, handsets[0], str(handsets[1])),
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
