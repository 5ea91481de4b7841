"""What chorus has seen of an identity on a channel, for the channels that have no lookup
of their own (WhatsApp, Viber)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.models import Message, MessageStatus, OptOut


@dataclass(frozen=True)
class Evidence:
    last_inbound_at: datetime | None
    last_reached_at: datetime | None  # latest inbound, DELIVERED or READ
    last_failure_code: str | None
    last_failure_at: datetime | None
    opted_out: bool


async def evidence(session: AsyncSession, app_id: str, channel: str, identity: str) -> Evidence:
    last_inbound = await session.scalar(
        select(func.max(Message.accept_time)).where(
            Message.app_id == app_id,
            Message.channel == channel,
            Message.identity == identity,
            Message.direction == "TO_APP",
        )
    )
    last_reached = await session.scalar(
        select(func.max(MessageStatus.at))
        .join(Message, Message.id == MessageStatus.message_id)
        .where(
            Message.app_id == app_id,
            MessageStatus.channel == channel,
            MessageStatus.identity == identity,
            MessageStatus.status.in_(("DELIVERED", "READ")),
        )
    )
    failure = (
        await session.execute(
            select(MessageStatus.reason, MessageStatus.at)
            .join(Message, Message.id == MessageStatus.message_id)
            .where(
                Message.app_id == app_id,
                MessageStatus.channel == channel,
                MessageStatus.identity == identity,
                MessageStatus.status.in_(("FAILED", "SWITCHING_CHANNEL")),
            )
            .order_by(MessageStatus.id.desc())
            .limit(1)
        )
    ).first()
    reached = [moment for moment in (last_inbound, last_reached) if moment is not None]
    reason = (failure[0] or {}) if failure is not None else {}
    opted_out = await session.get(OptOut, (app_id, channel, identity)) is not None
    return Evidence(
        last_inbound_at=last_inbound,
        last_reached_at=max(reached) if reached else None,
        last_failure_code=str(reason["channel_code"]) if reason.get("channel_code") else None,
        last_failure_at=failure[1] if failure is not None else None,
        opted_out=opted_out,
    )
