"""The extension API of callbacks (API.md Decision 11), mounted under `/chorus/v1`:
a webhook's delivery log, one delivery with every attempt, and replay."""

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.callbacks import delivery as http_delivery
from chorus.callbacks import repository, service
from chorus.kit.auth import project_caller
from chorus.kit.clock import utcnow
from chorus.kit.db import ReadSession
from chorus.kit.errors import failed_precondition, invalid, not_found
from chorus.kit.pagination import page_request, page_result
from chorus.models import CallbackDelivery
from chorus.runtime import Runtime

router = APIRouter(dependencies=[Depends(project_caller)], tags=["callbacks (extension)"])

PAGE_DEFAULT, PAGE_MAX = 20, 100


async def _delivery_in(
    session: AsyncSession, project_id: str, delivery_id: str
) -> CallbackDelivery:
    delivery = await repository.delivery(session, delivery_id)
    if delivery is None or delivery.project_id != project_id:
        raise not_found("delivery", delivery_id)
    return delivery


async def _full_view(session: AsyncSession, delivery: CallbackDelivery) -> dict[str, Any]:
    attempts = await repository.attempts_of(session, [delivery.id])
    return service.delivery_view(delivery, attempts[delivery.id], full=True)


@router.get("/projects/{project_id}/webhooks/{webhook_id}/deliveries")
async def list_deliveries(
    project_id: str,
    webhook_id: str,
    page_size: int | None = None,
    page_token: str | None = None,
    status: str | None = None,
    session: AsyncSession = ReadSession,
) -> dict[str, Any]:
    """The webhook's callbacks, newest first, each with its attempts."""
    webhook = await repository.webhook(session, webhook_id)
    if webhook is None or webhook.project_id != project_id:
        raise not_found("webhook", webhook_id)
    status = status.lower() if status else None
    if status is not None and status not in service.STATUSES:
        raise invalid("status", f"must be one of {', '.join(service.STATUSES)}")
    page = page_request(
        page_size,
        page_token,
        default=PAGE_DEFAULT,
        maximum=PAGE_MAX,
        webhook_id=webhook_id,
        status=status,
    )
    rows = await repository.deliveries_of_webhook(
        session, webhook_id, status=status, before=page.after_id, limit=page.size + 1
    )
    deliveries, token = page_result(page, list(rows), key=lambda d: d.id)
    attempts = await repository.attempts_of(session, [d.id for d in deliveries])
    return {
        "deliveries": [service.delivery_view(d, attempts[d.id], full=False) for d in deliveries],
        "next_page_token": token,
    }


@router.get("/projects/{project_id}/deliveries/{delivery_id}")
async def get_delivery(
    project_id: str, delivery_id: str, session: AsyncSession = ReadSession
) -> dict[str, Any]:
    return await _full_view(session, await _delivery_in(session, project_id, delivery_id))


@router.post("/projects/{project_id}/deliveries/{delivery_id}:replay")
async def replay_delivery(project_id: str, delivery_id: str, request: Request) -> dict[str, Any]:
    """Send the callback again now, freshly signed, with the same `x-chorus-event-id`; the
    answer is the delivery with this attempt. No retries follow a failed replay."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.db.read_sessions() as session:
        delivery = await _delivery_in(session, project_id, delivery_id)
        plan = await service.plan_attempt(session, delivery.id)
    if plan is None:
        raise not_found("delivery", delivery_id)
    if plan.target is None:
        raise failed_precondition(f"Delivery {delivery_id} cannot be replayed: {plan.stop}")
    attempted_at = utcnow()
    outcome = await http_delivery.attempt(runtime.http, plan.target, plan.body, plan.event_id)
    async with runtime.db.write_sessions() as session:
        writes = service.attempt_writes(
            delivery_id,
            outcome,
            url=plan.target.url,
            attempted_at=attempted_at,
            retry_in=None,
            replay=True,
        )
        recorded = await service.record_attempt(session, writes)
        if not recorded:
            raise not_found("delivery", delivery_id)
        await session.commit()
    async with runtime.db.read_sessions() as session:
        return await _full_view(session, await _delivery_in(session, project_id, delivery_id))
