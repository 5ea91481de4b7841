"""HTTP routes of webhooks (API.md §3.1)."""

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.auth import project_caller
from chorus.kit.db import ReadSession, WriteSession
from chorus.kit.errors import invalid
from chorus.kit.update_mask import requested_changes, requested_mask
from chorus.webhooks import service
from chorus.webhooks.schemas import UPDATABLE, WebhookCreate, WebhookUpdate

router = APIRouter(dependencies=[Depends(project_caller)], tags=["webhooks"])


def webhook_limit(request: Request) -> int:
    return request.app.state.settings.webhooks_per_app


def not_at_chorus(target: str | None, request: Request) -> None:
    """A webhook must not call this chorus back (API.md §3.2): its callbacks would loop."""
    if target is not None and service.is_own_url(target, request.app.state.settings.base_url):
        raise invalid(
            "target", f"must not point at this chorus ({request.app.state.settings.base_url})"
        )


@router.post("/projects/{project_id}/webhooks")
async def create_webhook(
    project_id: str, body: WebhookCreate, request: Request, session: AsyncSession = WriteSession
) -> dict[str, Any]:
    not_at_chorus(body.target, request)
    webhook = await service.create_webhook(session, project_id, body, webhook_limit(request))
    return service.webhook_view(webhook)


@router.post("/projects/{project_id}/apps/{app_id}/webhooks")
async def create_webhook_for_app(
    project_id: str,
    app_id: str,
    body: WebhookCreate,
    request: Request,
    session: AsyncSession = WriteSession,
) -> dict[str, Any]:
    """Alias of `POST /webhooks` found in the condensed OpenAPI; the path's app wins."""
    if body.app_id is not None and body.app_id != app_id:
        raise invalid("app_id", "differs from the app in the path")
    body.app_id = app_id
    not_at_chorus(body.target, request)
    webhook = await service.create_webhook(session, project_id, body, webhook_limit(request))
    return service.webhook_view(webhook)


@router.get("/projects/{project_id}/apps/{app_id}/webhooks")
async def list_webhooks(
    project_id: str, app_id: str, session: AsyncSession = ReadSession
) -> dict[str, Any]:
    webhooks = await service.list_webhooks(session, project_id, app_id)
    return {"webhooks": [service.webhook_view(w) for w in webhooks]}


@router.get("/projects/{project_id}/webhooks/{webhook_id}")
async def get_webhook(
    project_id: str, webhook_id: str, session: AsyncSession = ReadSession
) -> dict[str, Any]:
    return service.webhook_view(await service.get_webhook(session, project_id, webhook_id))


@router.patch("/projects/{project_id}/webhooks/{webhook_id}")
async def update_webhook(
    project_id: str,
    webhook_id: str,
    request: Request,
    body: WebhookUpdate | None = None,
    session: AsyncSession = WriteSession,
) -> dict[str, Any]:
    changes = requested_changes(body, requested_mask(request), UPDATABLE, ignored={"id"})
    not_at_chorus(changes.get("target"), request)
    webhook = await service.update_webhook(
        session, project_id, webhook_id, changes, webhook_limit(request)
    )
    return service.webhook_view(webhook)


@router.delete("/projects/{project_id}/webhooks/{webhook_id}")
async def delete_webhook(
    project_id: str, webhook_id: str, session: AsyncSession = WriteSession
) -> dict[str, Any]:
    await service.delete_webhook(session, project_id, webhook_id)
    return {}
