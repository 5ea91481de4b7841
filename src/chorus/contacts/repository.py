"""SQL for contacts and their identities."""

from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, delete, distinct, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.clock import utcnow
from chorus.kit.db import upsert
from chorus.models import (
    ChannelProfile,
    Contact,
    ContactIdentity,
    Conversation,
    ConversationEvent,
    Message,
)
from chorus.wire.enums import SIM_CHANNELS

IdentityKey = tuple[str, str, str]  # (channel, identity, app_id or "")


# Built once (kit/db.py, "Statements"): every dispatch reads its contact, every new contact
# its identities. (`session.get` builds its statement anew on every call.)
_BY_ID = select(Contact).where(Contact.id == bindparam("id"))
_BY_ID_KEPT = _BY_ID.with_for_update(read=True, key_share=True)
_IDENTITIES_OF = (
    select(ContactIdentity)
    .where(ContactIdentity.contact_id.in_(bindparam("contact_ids", expanding=True)))
    .order_by(ContactIdentity.contact_id, ContactIdentity.position)
)


async def get(
    session: AsyncSession, project_id: str, contact_id: str, *, kept: bool = False
) -> Contact | None:
    """`kept`: the contact cannot be deleted until the transaction ends (PostgreSQL's FOR KEY
    SHARE, the lock a foreign key takes), for traffic about to give it a conversation; one
    deleted meanwhile is waited for and not found."""
    contact = await session.scalar(_BY_ID_KEPT if kept else _BY_ID, {"id": contact_id})
    return contact if contact is not None and contact.project_id == project_id else None


async def lock(session: AsyncSession, contact_ids: Sequence[str]) -> None:
    """Hold these contacts' rows until the transaction ends (PostgreSQL; SQLite's single
    writer serialises anyway), taken in id order so that two lockers never deadlock."""
    await session.execute(
        select(Contact.id)
        .where(Contact.id.in_(sorted(contact_ids)))
        .order_by(Contact.id)
        .with_for_update()
    )


async def identities_of(
    session: AsyncSession, contact_ids: Sequence[str]
) -> dict[str, list[ContactIdentity]]:
    if not contact_ids:
        return {}
    rows = await session.scalars(_IDENTITIES_OF, {"contact_ids": list(contact_ids)})
    found: dict[str, list[ContactIdentity]] = {contact_id: [] for contact_id in contact_ids}
    for row in rows:
        found[row.contact_id].append(row)
    return found


async def replace_identities(
    session: AsyncSession, contact: Contact, keys: Sequence[IdentityKey], *, new: bool = False
) -> None:
    """Give the contact exactly these identities (`new`: it has none yet)."""
    if not new:
        await session.execute(
            delete(ContactIdentity).where(ContactIdentity.contact_id == contact.id)
        )
    session.add_all(
        ContactIdentity(
            project_id=contact.project_id,
            contact_id=contact.id,
            channel=channel,
            identity=identity,
            app_id=app_id,
            position=position,
        )
        for position, (channel, identity, app_id) in enumerate(keys)
    )
    await session.flush()


async def other_holders(
    session: AsyncSession, project_id: str, contact_id: str, keys: Iterable[IdentityKey]
) -> dict[IdentityKey, list[str]]:
    """For each identity key, the other contacts of the project holding it."""
    holders: dict[IdentityKey, list[str]] = {}
    for channel, identity, app_id in keys:
        rows = await session.scalars(
            select(ContactIdentity.contact_id)
            .distinct()
            .where(
                ContactIdentity.project_id == project_id,
                ContactIdentity.channel == channel,
                ContactIdentity.identity == identity,
                ContactIdentity.app_id == app_id,
                ContactIdentity.contact_id != contact_id,
            )
        )
        others = sorted(rows.all())
        if others:
            holders[(channel, identity, app_id)] = others
    return holders


# Built once (kit/db.py, "Statements"): every send to a channel identity asks.
_HOLDERS_OF_KEY = (
    select(ContactIdentity.contact_id)
    .distinct()
    .where(
        ContactIdentity.project_id == bindparam("project_id"),
        ContactIdentity.channel == bindparam("channel"),
        ContactIdentity.identity == bindparam("identity"),
        ContactIdentity.app_id == bindparam("app_id"),
    )
    .order_by(ContactIdentity.contact_id)
)


async def holders_of_key(
    session: AsyncSession, project_id: str, channel: str, identity: str, app_id: str
) -> list[str]:
    """Contacts holding one identity key, oldest first."""
    rows = await session.scalars(
        _HOLDERS_OF_KEY,
        {"project_id": project_id, "channel": channel, "identity": identity, "app_id": app_id},
    )
    return list(rows.all())


async def sim_holder(
    session: AsyncSession, project_id: str, numbers: Sequence[str], *, other_than: str = ""
) -> ContactIdentity | None:
    """The identity of the oldest contact (but `other_than`) holding one of the phone
    numbers on a SIM channel."""
    return await session.scalar(
        select(ContactIdentity)
        .where(
            ContactIdentity.project_id == project_id,
            ContactIdentity.identity.in_(numbers),
            ContactIdentity.channel.in_([c.value for c in SIM_CHANNELS]),
            ContactIdentity.contact_id != other_than,
        )
        .order_by(ContactIdentity.contact_id)
        .limit(1)
    )


async def page_of_contacts(
    session: AsyncSession,
    project_id: str,
    *,
    after: str | None,
    limit: int,
    external_ids: Sequence[str] | None = None,
    channel: str | None = None,
    identity: str | None = None,
) -> Sequence[Contact]:
    query = select(Contact).where(Contact.project_id == project_id)
    if external_ids is not None:
        query = query.where(Contact.external_id.in_(external_ids))
    if channel is not None and identity is not None:
        query = query.where(
            Contact.id.in_(
                select(ContactIdentity.contact_id).where(
                    ContactIdentity.project_id == project_id,
                    ContactIdentity.channel == channel,
                    ContactIdentity.identity == identity,
                )
            )
        )
    if after is not None:
        query = query.where(Contact.id > after)
    result = await session.scalars(query.order_by(Contact.id).limit(limit))
    return result.all()


async def external_id_exists(session: AsyncSession, project_id: str, external_id: str) -> bool:
    found = await session.scalar(
        select(Contact.id)
        .where(Contact.project_id == project_id, Contact.external_id == external_id)
        .limit(1)
    )
    return found is not None


async def shared_identities(
    session: AsyncSession, project_id: str, *, after: str | None, limit: int
) -> Sequence[str]:
    """Identity strings held by more than one contact, ascending: conflict candidates."""
    query = (
        select(ContactIdentity.identity)
        .where(ContactIdentity.project_id == project_id)
        .group_by(ContactIdentity.identity)
        .having(func.count(distinct(ContactIdentity.contact_id)) > 1)
    )
    if after is not None:
        query = query.where(ContactIdentity.identity > after)
    result = await session.scalars(query.order_by(ContactIdentity.identity).limit(limit))
    return result.all()


async def holders_of_identities(
    session: AsyncSession, project_id: str, identities: Sequence[str]
) -> Sequence[ContactIdentity]:
    result = await session.scalars(
        select(ContactIdentity).where(
            ContactIdentity.project_id == project_id, ContactIdentity.identity.in_(identities)
        )
    )
    return result.all()


async def conversations_of(session: AsyncSession, contact_id: str) -> Sequence[Conversation]:
    result = await session.scalars(
        select(Conversation).where(Conversation.contact_id == contact_id).order_by(Conversation.id)
    )
    return result.all()


async def repoint_conversations(session: AsyncSession, source_id: str, destination_id: str) -> None:
    await session.execute(
        update(Conversation)
        .where(Conversation.contact_id == source_id)
        .values(contact_id=destination_id)
    )


async def move_traffic(session: AsyncSession, from_id: str, to_id: str) -> None:
    """The messages and events of one conversation become another's."""
    for table in (Message, ConversationEvent):
        await session.execute(
            update(table).where(table.conversation_id == from_id).values(conversation_id=to_id)
        )


async def repoint_traffic(
    session: AsyncSession, project_id: str, source_id: str, destination_id: str
) -> None:
    """Every message and event of the source contact becomes the destination's."""
    for table in (Message, ConversationEvent):
        await session.execute(
            update(table)
            .where(table.project_id == project_id, table.contact_id == source_id)
            .values(contact_id=destination_id)
        )


async def delete_contact(session: AsyncSession, contact: Contact) -> None:
    # Identities and conversations go with it (ON DELETE CASCADE), and so does the traffic
    # of the conversations. Its traffic in none (a send that failed before one started, an
    # event) would otherwise name a contact that no longer exists (API.md Part A §4.7).
    for table in (Message, ConversationEvent):
        await session.execute(
            delete(table).where(
                table.project_id == contact.project_id,
                table.contact_id == contact.id,
                table.conversation_id.is_(None),
            )
        )
    await session.execute(delete(Contact).where(Contact.id == contact.id))


async def remember_profile_name(
    session: AsyncSession, project_id: str, app_id: str, channel: str, identity: str, name: str
) -> None:
    """The name the channel showed with the identity's latest traffic."""
    await session.execute(
        upsert(
            session,
            ChannelProfile.__table__,
            {
                "project_id": project_id,
                "app_id": app_id,
                "channel": channel,
                "identity": identity,
                "profile_name": name[:256],
                "updated_at": utcnow(),
            },
            key=["project_id", "app_id", "channel", "identity"],
        )
    )


async def profile_name(
    session: AsyncSession, project_id: str, app_id: str, channel: str, identity: str
) -> str | None:
    return await session.scalar(
        select(ChannelProfile.profile_name).where(
            ChannelProfile.project_id == project_id,
            ChannelProfile.app_id == app_id,
            ChannelProfile.channel == channel,
            ChannelProfile.identity == identity,
        )
    )
