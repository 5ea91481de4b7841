"""SQL of callbacks: targets, deliveries and their attempts."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, bindparam, event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from chorus.models import App, CallbackAttempt, CallbackDelivery, Webhook

_WEBHOOKS = "chorus.webhooks"
# Built once (kit/db.py, "Statements"): every occurrence reads them.
_PROJECT_WEBHOOKS = (
    select(Webhook.id, Webhook.app_id, Webhook.target, Webhook.target_type, Webhook.triggers)
    .where(Webhook.project_id == bindparam("project_id"))
    .order_by(Webhook.app_id, Webhook.id)
)


@event.listens_for(Session, "after_transaction_end")
def _forget_webhooks(session: Session, transaction: Any) -> None:
    # Only at the outer transaction's end: a savepoint (a find-or-create) ending inside it
    # changes no webhook.
    if transaction.parent is None:
        session.info.pop(_WEBHOOKS, None)


async def webhooks_for(
    session: AsyncSession, project_id: str, app_id: str | None, trigger: str
) -> list[Row[Any]]:
    """Webhooks subscribed to `trigger` (`id`, `app_id`, `target`, `target_type`): of one
    app, or of every app of the project. Plain rows, read once per project and transaction
    (one send records several occurrences: a new contact, a conversation, its status)."""
    known: dict[str, list[Row[Any]]] = session.info.setdefault(_WEBHOOKS, {})
    rows = known.get(project_id)
    if rows is None:
        result = await session.execute(_PROJECT_WEBHOOKS, {"project_id": project_id})
        rows = known[project_id] = list(result)
    return [
        row
        for row in rows
        if (app_id is None or row.app_id == app_id) and trigger in (row.triggers or ())
    ]


async def subscribed(
    session: AsyncSession, project_id: str, app_id: str | None, trigger: str
) -> bool:
    """Whether any webhook would receive `trigger` (from the same per-transaction read as
    `webhooks_for`): a caller whose payload costs a query of its own asks first."""
    return bool(await webhooks_for(session, project_id, app_id, trigger))


async def app(session: AsyncSession, project_id: str, app_id: str) -> App | None:
    found = await session.get(App, app_id)
    return found if found is not None and found.project_id == project_id else None


async def delivery(
    session: AsyncSession, delivery_id: str, *, for_update: bool = False
) -> CallbackDelivery | None:
    query = select(CallbackDelivery).where(CallbackDelivery.id == delivery_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def webhook(session: AsyncSession, webhook_id: str | None) -> Webhook | None:
    return None if webhook_id is None else await session.get(Webhook, webhook_id)


async def deliveries_of_webhook(
    session: AsyncSession, webhook_id: str, *, status: str | None, before: str | None, limit: int
) -> Sequence[CallbackDelivery]:
    """Newest first (ids are ULIDs), starting below `before`."""
    query = select(CallbackDelivery).where(CallbackDelivery.webhook_id == webhook_id)
    if status is not None:
        query = query.where(CallbackDelivery.status == status)
    if before is not None:
        query = query.where(CallbackDelivery.id < before)
    result = await session.scalars(query.order_by(CallbackDelivery.id.desc()).limit(limit))
    return result.all()


async def attempts_of(
    session: AsyncSession, delivery_ids: Sequence[str]
) -> dict[str, list[CallbackAttempt]]:
    """Every attempt of these deliveries, oldest first."""
    found: dict[str, list[CallbackAttempt]] = {d: [] for d in delivery_ids}
    if not delivery_ids:
        return found
    rows = await session.scalars(
        select(CallbackAttempt)
        .where(CallbackAttempt.delivery_id.in_(list(delivery_ids)))
        .order_by(CallbackAttempt.id)
    )
    for attempt in rows.all():
        found[attempt.delivery_id].append(attempt)
    return found
