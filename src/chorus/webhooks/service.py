"""Rules for webhooks (API.md §3)."""

import ipaddress
from collections.abc import Sequence
from typing import Any
from urllib.parse import SplitResult, urlsplit

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.apps import repository as apps
from chorus.kit.errors import failed_precondition, invalid, not_found
from chorus.kit.ids import new_id
from chorus.models import App, Webhook
from chorus.webhooks.schemas import WebhookCreate
from chorus.wire.enums import WebhookTargetType


async def get_webhook(
    session: AsyncSession, project_id: str, webhook_id: str, *, for_update: bool = False
) -> Webhook:
    """The webhook, or 404. `for_update`: held until the transaction ends, so that changes
    at once take turns (and one that comes after a delete finds nothing)."""
    webhook = await session.get(Webhook, webhook_id, with_for_update=for_update)
    if webhook is None or webhook.project_id != project_id:
        raise not_found("webhook", webhook_id)
    return webhook


async def list_webhooks(session: AsyncSession, project_id: str, app_id: str) -> Sequence[Webhook]:
    if await apps.get(session, project_id, app_id) is None:
        raise not_found("app", app_id)
    result = await session.scalars(
        select(Webhook).where(Webhook.app_id == app_id).order_by(Webhook.id)
    )
    return result.all()


async def _app_with_room(session: AsyncSession, project_id: str, app_id: str, limit: int) -> App:
    """The app a webhook is added to, locked so concurrent creates cannot pass the limit."""
    app = await session.scalar(
        select(App).where(App.id == app_id, App.project_id == project_id).with_for_update()
    )
    if app is None:
        raise invalid("app_id", f"no app {app_id} in this project")
    count = await session.scalar(
        select(func.count()).select_from(Webhook).where(Webhook.app_id == app_id)
    )
    if (count or 0) >= limit:
        raise failed_precondition(
            f"App {app_id} already has {limit} webhooks, the most an app can have; "
            "delete one or reuse it with more triggers"
        )
    return app


async def create_webhook(
    session: AsyncSession, project_id: str, body: WebhookCreate, limit: int
) -> Webhook:
    if body.app_id is None:
        raise invalid("app_id", "is required")
    await _app_with_room(session, project_id, body.app_id, limit)
    webhook = Webhook(
        id=new_id(),
        project_id=project_id,
        app_id=body.app_id,
        target=body.target,
        target_type=(body.target_type or WebhookTargetType.HTTP).value,
        secret=body.secret or "",
        triggers=[t.value for t in body.triggers or []],
        client_credentials=(
            body.client_credentials.model_dump(exclude_none=True)
            if body.client_credentials
            else None
        ),
    )
    session.add(webhook)
    await session.flush()
    return webhook


async def update_webhook(
    session: AsyncSession, project_id: str, webhook_id: str, changes: dict[str, Any], limit: int
) -> Webhook:
    webhook = await get_webhook(session, project_id, webhook_id, for_update=True)
    for field, value in changes.items():
        if field == "app_id":
            if value is None:
                raise invalid("app_id", "cannot be cleared")
            if value != webhook.app_id:
                await _app_with_room(session, project_id, value, limit)
                webhook.app_id = value
        elif field == "target":
            if value is None:
                raise invalid("target", "cannot be cleared")
            webhook.target = value
        elif field == "target_type":
            webhook.target_type = (value or WebhookTargetType.HTTP).value
        elif field == "secret":
            webhook.secret = value or ""
        elif field == "triggers":
            webhook.triggers = [t.value for t in value or []]
        elif field == "client_credentials":
            webhook.client_credentials = value.model_dump(exclude_none=True) if value else None
    await session.flush()
    return webhook


async def delete_webhook(session: AsyncSession, project_id: str, webhook_id: str) -> None:
    webhook = await get_webhook(session, project_id, webhook_id, for_update=True)
    await session.delete(webhook)


def webhook_view(webhook: Webhook) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": webhook.id,
        "app_id": webhook.app_id,
        "target": webhook.target,
        "target_type": webhook.target_type,
        "secret": webhook.secret,
        "triggers": list(webhook.triggers),
    }
    if webhook.client_credentials:
        view["client_credentials"] = webhook.client_credentials
    return view


def is_own_url(target: str, base_url: str) -> bool:
    """Whether `target` names the same host and port as chorus's public `base_url`. When that
    host is this machine (loopback), every name of this machine on that port is ours:
    `localhost`, `127.0.0.2`, `[::1]`, `0.0.0.0` all reach the same listener."""
    ours, theirs = urlsplit(base_url), urlsplit(target)
    if _port(theirs) != _port(ours):
        return False
    our_host, their_host = (ours.hostname or "").lower(), (theirs.hostname or "").lower()
    return their_host == our_host or (_this_machine(our_host) and _this_machine(their_host))


def _this_machine(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _port(url: SplitResult) -> int | None:
    try:
        return url.port or {"http": 80, "https": 443}.get(url.scheme)
    except ValueError:  # a port out of range: no URL of ours
        return None
