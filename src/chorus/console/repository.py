"""The console's SQL: the status histories of messages and events, and the cursors the live
stream watches."""

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.models import (
    AccessKey,
    App,
    CallbackAttempt,
    CallbackDelivery,
    Contact,
    ContactIdentity,
    Conversation,
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


async def conversation_exists(session: AsyncSession, project_id: str, conversation_id: str) -> bool:
    found = await session.scalar(
        select(Conversation.id).where(
            Conversation.id == conversation_id, Conversation.project_id == project_id
        )
    )
    return found is not None


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

    Most are the maximum of a primary key, so a look costs an index probe whatever the size
    of the tables (apps and webhooks, few rows, are counted and their last change read;
    handsets, few too, are read whole); they are deployment-wide, and the stream shows them
    only hashed with the project (a page may re-read for another project's activity, and
    learns nothing of it)."""

    messages: tuple[Any, ...]
    deliveries: tuple[Any, ...]
    handsets: tuple[Any, ...]
    apps: tuple[Any, ...]
    contacts: tuple[Any, ...]


class WriteCounter:
    """Counts the rows of some models this process inserts, updates or deletes through the
    ORM (mapper events, at each flush; a flush rolled back later still counts, which costs a
    page one needless re-read)."""

    def __init__(self, *models: type) -> None:
        self.writes = 0
        for model in models:
            for name in ("after_insert", "after_update", "after_delete"):
                event.listen(model, name, self._count)

    def _count(self, *_: Any) -> None:
        self.writes += 1


# Contacts have no updated_at column (and the console adds no migrations), so a change that
# leaves their number alone (a new name, other identities) shows in no column the stream can
# probe. Such changes are made through the ORM, and counted here: seen at once when made in
# this process (`chorus serve` runs the API and the workers in one); a change made by another
# process shows with the next contact created or deleted.
contact_writes = WriteCounter(Contact, ContactIdentity)


async def cursors(session: AsyncSession) -> Cursors:
    async def newest(column: Any) -> Any:
        return await session.scalar(select(func.max(column)))

    async def number(model: Any) -> Any:
        return await session.scalar(select(func.count()).select_from(model))

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
        # What the handsets received or sent, and their settings, which change in place (the
        # table keeps no time of change): a digest of every handset's.
        handsets=(await newest(SimulatedMessage.id), await handset_settings_digest(session)),
        # Apps and webhooks: created, changed (a credential's registration state moves in
        # the background) or deleted. Small tables: counting them is cheap.
        apps=(
            await number(App),
            await newest(App.updated_at),
            await number(Webhook),
            await newest(Webhook.updated_at),
        ),
        # Contacts: created or deleted (counted, as apps are), and changed (see above).
        contacts=(
            await number(Contact),
            await newest(Contact.id),
            await newest(ContactIdentity.id),
            contact_writes.writes,
        ),
    )


async def handset_settings_digest(session: AsyncSession) -> str:
    rows = await session.execute(
        select(SimulatedHandset.channel, SimulatedHandset.identity, SimulatedHandset.settings)
    )
    every = sorted((channel, identity, settings) for channel, identity, settings in rows)
    return hashlib.sha256(json.dumps(every, sort_keys=True).encode()).hexdigest()


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
