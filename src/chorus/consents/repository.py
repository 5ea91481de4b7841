"""SQL for opt-outs, consent lists and consent audit records."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.clock import utcnow
from chorus.kit.db import insert_ignoring_conflicts
from chorus.models import ConsentAuditRecord, ConsentEntry, OptOut

# Built once (kit/db.py, "Statements"): every dispatch asks.
_OPTED_OUT = select(OptOut.app_id).where(
    OptOut.app_id == bindparam("app_id"),
    OptOut.channel == bindparam("channel"),
    OptOut.identity == bindparam("identity"),
)


async def is_opted_out(session: AsyncSession, app_id: str, channel: str, identity: str) -> bool:
    found = await session.scalar(
        _OPTED_OUT, {"app_id": app_id, "channel": channel, "identity": identity}
    )
    return found is not None


async def add_opt_out(
    session: AsyncSession, project_id: str, app_id: str, channel: str, identity: str, origin: str
) -> bool:
    """Record the opt-out; False when it was already recorded."""
    result = await session.execute(
        insert_ignoring_conflicts(
            session,
            OptOut,
            {
                "app_id": app_id,
                "channel": channel,
                "identity": identity,
                "project_id": project_id,
                "origin": origin,
                "created_at": utcnow(),
            },
        )
    )
    return bool(result.rowcount)


async def remove_opt_out(session: AsyncSession, app_id: str, channel: str, identity: str) -> bool:
    result = await session.execute(
        delete(OptOut).where(
            OptOut.app_id == app_id, OptOut.channel == channel, OptOut.identity == identity
        )
    )
    return bool(result.rowcount)


async def opted_out_channels(session: AsyncSession, app_id: str, identity: str) -> Sequence[str]:
    result = await session.scalars(
        select(OptOut.channel).where(OptOut.app_id == app_id, OptOut.identity == identity)
    )
    return result.all()


async def add_entry(
    session: AsyncSession, project_id: str, app_id: str, list_type: str, identity: str
) -> bool:
    """Put the identity on the list; False when it was there already."""
    result = await session.execute(
        insert_ignoring_conflicts(
            session,
            ConsentEntry,
            {
                "app_id": app_id,
                "list_type": list_type,
                "identity": identity,
                "project_id": project_id,
                "added_at": utcnow(),
            },
        )
    )
    return bool(result.rowcount)


async def remove_entry(session: AsyncSession, app_id: str, list_type: str, identity: str) -> bool:
    result = await session.execute(
        delete(ConsentEntry).where(
            ConsentEntry.app_id == app_id,
            ConsentEntry.list_type == list_type,
            ConsentEntry.identity == identity,
        )
    )
    return bool(result.rowcount)


async def lists_holding(
    session: AsyncSession, app_id: str, identity: str, list_types: Sequence[str]
) -> Sequence[str]:
    result = await session.scalars(
        select(ConsentEntry.list_type).where(
            ConsentEntry.app_id == app_id,
            ConsentEntry.identity == identity,
            ConsentEntry.list_type.in_(list_types),
        )
    )
    return result.all()


def add_audit(
    session: AsyncSession,
    *,
    project_id: str,
    app_id: str,
    identity: str,
    list_type: str,
    origin: str,
    operation: str,
) -> None:
    session.add(
        ConsentAuditRecord(
            project_id=project_id,
            app_id=app_id,
            identity=identity,
            list_type=list_type,
            origin=origin,
            operation=operation,
            recorded_at=utcnow(),
        )
    )


async def page_of_entries(
    session: AsyncSession,
    app_id: str,
    list_type: str,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[ConsentEntry]:
    """The list's identities in the order they were added (then by identity)."""
    query = select(ConsentEntry).where(
        ConsentEntry.app_id == app_id, ConsentEntry.list_type == list_type
    )
    if after is not None:
        moment, identity = after
        query = query.where(
            or_(
                ConsentEntry.added_at > moment,
                and_(ConsentEntry.added_at == moment, ConsentEntry.identity > identity),
            )
        )
    result = await session.scalars(
        query.order_by(ConsentEntry.added_at, ConsentEntry.identity).limit(limit)
    )
    return result.all()


async def audit_records(
    session: AsyncSession, app_id: str, identities: Sequence[str]
) -> Sequence[ConsentAuditRecord]:
    result = await session.scalars(
        select(ConsentAuditRecord)
        .where(ConsentAuditRecord.app_id == app_id, ConsentAuditRecord.identity.in_(identities))
        .order_by(ConsentAuditRecord.id)
    )
    return result.all()
