"""SQL for conversations."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.clock import EPOCH
from chorus.kit.db import UTCDateTime
from chorus.models import Contact, Conversation
from chorus.wire.enums import SortOrder

# A conversation without messages sorts as if its last message arrived at the epoch.
LAST_RECEIVED = func.coalesce(Conversation.last_received, literal(EPOCH, UTCDateTime()))


@dataclass(frozen=True)
class ConversationFilter:
    """The filters of `GET /conversations` and `GET /conversations:recent`."""

    project_id: str
    app_id: str | None = None
    contact_id: str | None = None
    only_active: bool = False
    active_channel: str | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        clauses = [Conversation.project_id == self.project_id]
        if self.app_id is not None:
            clauses.append(Conversation.app_id == self.app_id)
        if self.contact_id is not None:
            clauses.append(Conversation.contact_id == self.contact_id)
        if self.only_active:
            clauses.append(Conversation.active == true())
        if self.active_channel is not None:
            clauses.append(Conversation.active_channel == self.active_channel)
        return clauses


async def get(
    session: AsyncSession, project_id: str, conversation_id: str, *, for_update: bool = False
) -> Conversation | None:
    statement = select(Conversation).where(
        Conversation.id == conversation_id, Conversation.project_id == project_id
    )
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def touch(
    session: AsyncSession, conversation_id: str, *, active_channel: str, at: datetime
) -> None:
    """Traffic went out on `active_channel`, a message accepted at `at`: one UPDATE, no
    read (every dispatch). `last_received` is the latest message's time (API.md §5.2), so
    a message dispatched late (a retry) leaves a later one's time alone."""
    await session.execute(
        _TOUCH, {"conversation_id": conversation_id, "to_channel": active_channel, "at": at}
    )


# Core, on the table: the ORM's bulk-update path would build a new statement every time.
_conversations = Conversation.__table__
_at = bindparam("at", type_=_conversations.c.last_received.type)
_TOUCH = (
    update(_conversations)
    .where(_conversations.c.id == bindparam("conversation_id"))
    .values(
        active_channel=bindparam("to_channel"),
        last_received=case(
            (
                or_(
                    _conversations.c.last_received.is_(None),
                    _conversations.c.last_received < _at,
                ),
                _at,
            ),
            else_=_conversations.c.last_received,
        ),
    )
)
_ACTIVE_FOR_PAIR = (
    select(Conversation)
    .where(
        Conversation.app_id == bindparam("app_id"),
        Conversation.contact_id == bindparam("contact_id"),
        Conversation.active == true(),
    )
    .with_for_update()
)


async def active_for_pair(
    session: AsyncSession, app_id: str, contact_id: str
) -> Conversation | None:
    """The pair's active conversation, held until the transaction ends: the traffic that asks
    for it writes to it, and one being stopped or deleted meanwhile is then waited for and
    not found (PostgreSQL), rather than written after it is gone."""
    return await session.scalar(_ACTIVE_FOR_PAIR, {"app_id": app_id, "contact_id": contact_id})


async def of_contact(session: AsyncSession, contact_id: str) -> Sequence[Conversation]:
    """Every conversation of the contact, oldest first."""
    found = await session.scalars(
        select(Conversation).where(Conversation.contact_id == contact_id).order_by(Conversation.id)
    )
    return found.all()


async def contact_exists(session: AsyncSession, project_id: str, contact_id: str) -> bool:
    found = await session.scalar(
        select(Contact.id).where(Contact.id == contact_id, Contact.project_id == project_id)
    )
    return found is not None


async def count(session: AsyncSession, where: ConversationFilter) -> int:
    total = await session.scalar(
        select(func.count()).select_from(Conversation).where(*where.clauses())
    )
    return total or 0


async def list_page(
    session: AsyncSession, where: ConversationFilter, after: str | None, limit: int
) -> Sequence[Conversation]:
    """Ascending by id, starting after the id `after`."""
    statement = select(Conversation).where(*where.clauses())
    if after is not None:
        statement = statement.where(Conversation.id > after)
    result = await session.scalars(statement.order_by(Conversation.id).limit(limit))
    return result.all()


async def recent_page(
    session: AsyncSession,
    where: ConversationFilter,
    order: SortOrder,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[Conversation]:
    """By last message time then id, both in `order`, starting after the key `after`."""
    statement = select(Conversation).where(*where.clauses())
    descending = order == SortOrder.DESC
    if after is not None:
        moment, last_id = after
        at = literal(moment, UTCDateTime())
        if descending:
            beyond: Any = or_(
                at > LAST_RECEIVED, and_(at == LAST_RECEIVED, Conversation.id < last_id)
            )
        else:
            beyond = or_(at < LAST_RECEIVED, and_(at == LAST_RECEIVED, Conversation.id > last_id))
        statement = statement.where(beyond)
    if descending:
        statement = statement.order_by(LAST_RECEIVED.desc(), Conversation.id.desc())
    else:
        statement = statement.order_by(LAST_RECEIVED.asc(), Conversation.id.asc())
    result = await session.scalars(statement.limit(limit))
    return result.all()


async def delete_conversation(session: AsyncSession, conversation: Conversation) -> None:
    await session.execute(delete(Conversation).where(Conversation.id == conversation.id))
