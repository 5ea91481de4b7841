"""SQL of the simulator: handsets, their inboxes, and the apps a native credential names."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, bindparam, cast, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.clock import utcnow
from chorus.kit.group_commit import Write
from chorus.models import App, ChannelMessageRef, SimulatedHandset, SimulatedMessage

# Built once (kit/db.py, "Statements"): every simulated send looks its app up.
_NAMING = (
    select(App)
    .where(cast(App.channel_credentials, String).like(bindparam("pattern"), escape="\\"))
    .order_by(App.id)
)


async def apps_with_credential(
    session: AsyncSession, channel: str, claimed_identity: str
) -> list[tuple[App, dict[str, Any]]]:
    """Every app holding a `static_bearer` credential of `channel` for `claimed_identity`,
    with that credential, oldest app first."""
    escaped = claimed_identity.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    candidates = await session.scalars(_NAMING, {"pattern": f"%{escaped}%"})
    found = []
    for app in candidates:
        for credential in app.channel_credentials or []:
            bearer = credential.get("static_bearer") or {}
            if credential.get("channel") == channel and (
                bearer.get("claimed_identity") == claimed_identity
            ):
                found.append((app, credential))
                break
    return found


async def apps_with_channel(session: AsyncSession, channel: str) -> list[App]:
    """Every app holding a credential of `channel`, oldest app first."""
    candidates = await session.scalars(
        select(App)
        .where(cast(App.channel_credentials, String).like(f'%"{channel}"%'))
        .order_by(App.id)
    )
    return [
        app
        for app in candidates
        if any(c.get("channel") == channel for c in app.channel_credentials or [])
    ]


async def list_handsets(
    session: AsyncSession, channel: str | None = None
) -> Sequence[SimulatedHandset]:
    query = select(SimulatedHandset).order_by(
        SimulatedHandset.channel, SimulatedHandset.created_at, SimulatedHandset.identity
    )
    if channel is not None:
        query = query.where(SimulatedHandset.channel == channel)
    return (await session.scalars(query)).all()


# Hot statements are built once (kit/db.py, "Statements"): every simulated message reads
# its handset.
_HANDSET = (
    select(SimulatedHandset)
    .where(
        SimulatedHandset.channel == bindparam("channel"),
        SimulatedHandset.identity == bindparam("identity"),
    )
    .execution_options(populate_existing=True)
)
_HANDSET_FOR_UPDATE = _HANDSET.with_for_update()


async def get_handset(
    session: AsyncSession, channel: str, identity: str, *, for_update: bool = False
) -> SimulatedHandset | None:
    return await session.scalar(
        _HANDSET_FOR_UPDATE if for_update else _HANDSET, {"channel": channel, "identity": identity}
    )


async def handset_for_update(
    session: AsyncSession, channel: str, identity: str
) -> SimulatedHandset:
    """The handset, locked for this transaction; created (with no settings of its own) on
    first use. A concurrent first use by another transaction is waited for, not duplicated."""
    handset = await get_handset(session, channel, identity, for_update=True)
    if handset is not None:
        return handset
    try:
        async with session.begin_nested():
            handset = SimulatedHandset(
                channel=channel, identity=identity, settings={}, created_at=utcnow()
            )
            session.add(handset)
    except IntegrityError:
        handset = await get_handset(session, channel, identity, for_update=True)
        assert handset is not None
    return handset


async def inbox(session: AsyncSession, channel: str, identity: str) -> Sequence[SimulatedMessage]:
    return (
        await session.scalars(
            select(SimulatedMessage)
            .where(SimulatedMessage.channel == channel, SimulatedMessage.identity == identity)
            .order_by(SimulatedMessage.id)
        )
    ).all()


async def received_native_id(
    session: AsyncSession, channel: str, identity: str, message_id: str
) -> str | None:
    """The channel's id of chorus's message `message_id` as the handset received it (the
    channel's refs name it), or None when the handset received no such message."""
    return await session.scalar(
        select(SimulatedMessage.native_id)
        .join(
            ChannelMessageRef,
            (ChannelMessageRef.channel == SimulatedMessage.channel)
            & (ChannelMessageRef.native_id == SimulatedMessage.native_id),
        )
        .where(
            SimulatedMessage.channel == channel,
            SimulatedMessage.identity == identity,
            SimulatedMessage.direction == "received",
            ChannelMessageRef.message_id == message_id,
        )
        .limit(1)
    )


async def add_message(session: AsyncSession, message: SimulatedMessage) -> SimulatedMessage:
    session.add(message)
    await session.flush()
    return message


async def add_sent(
    session: AsyncSession,
    channel: str,
    identity: str,
    *,
    native_id: str,
    text: str,
    request: dict[str, Any],
    status: str,
) -> int:
    """What a handset sent (a message, an (un)subscription): its new inbox entry's id."""
    entry = await add_message(
        session,
        SimulatedMessage(
            channel=channel,
            identity=identity,
            direction="sent",
            native_id=native_id,
            text=text,
            request=request,
            status=status,
        ),
    )
    return entry.id


async def set_message_status(session: AsyncSession, message_id: int, status: str) -> None:
    await session.execute(*message_status(message_id, status))


_inbox = SimulatedMessage.__table__
_SET_STATUS = (
    update(_inbox).where(_inbox.c.id == bindparam("entry")).values(status=bindparam("answer"))
)


def message_status(message_id: int, status: str) -> Write:
    """An inbox entry's status as a write (a report's answer, group-committed)."""
    return _SET_STATUS, {"entry": message_id, "answer": status}
