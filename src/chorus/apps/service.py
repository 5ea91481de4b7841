"""Rules for apps (API.md §2)."""

import copy
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chorus.apps import cache, repository
from chorus.apps.schemas import (
    AppCreate,
    AppFields,
    ChannelCredential,
    DispatchRetentionPolicy,
    RateLimits,
    RetentionPolicy,
    SmartConversation,
)
from chorus.channels.registry import plugin_for
from chorus.kit.db import retry_conflicts
from chorus.kit.errors import invalid, not_found
from chorus.kit.ids import new_id
from chorus.kit.update_mask import SubFields
from chorus.messages import repository as messages
from chorus.models import App
from chorus.outbox.service import Priority, enqueue
from chorus.wire.enums import Channel, ProcessingMode, ReportView

# Registers chorus's inbound URL with a channel whose credential needs it (Viber Bot).
REGISTER_WEBHOOK_JOB = "apps.register_webhook"
ACTIVE = {"status": "ACTIVE", "description": ""}
FAILING = "FAILING"
PENDING = {"status": "PENDING", "description": "registering chorus's webhook with the channel"}
# Kept in a stored credential, never shown: the URL its last registration gave the channel.
WEBHOOK_URL = "webhook_url"

DEFAULTS: dict[str, Any] = {
    "conversation_metadata_report_view": ReportView.NONE.value,
    "retention_policy": RetentionPolicy().model_dump(mode="json"),
    "dispatch_retention_policy": DispatchRetentionPolicy().model_dump(mode="json"),
    "processing_mode": ProcessingMode.CONVERSATION.value,
    "smart_conversation": SmartConversation().model_dump(mode="json"),
    "callback_settings": None,
    "delivery_report_based_fallback": None,
    "message_retry_settings": None,
    "rate_limits": RateLimits().model_dump(mode="json"),
    "channel_credentials": [],
}


def stored_credentials(credentials: list[ChannelCredential]) -> list[dict[str, Any]]:
    """Credentials as kept: LINE entries get ordinal numbers 0, 1, 2… in order when omitted;
    every other channel's is 0."""
    stored = []
    line_ordinal = 0
    for credential in credentials:
        row = credential.stored()
        if credential.channel == Channel.LINE:
            row.setdefault("credential_ordinal_number", line_ordinal)
            line_ordinal = row["credential_ordinal_number"] + 1
        else:
            row["credential_ordinal_number"] = 0
        row.setdefault("callback_secret", "")
        stored.append(row)
    return stored


def stored_value(field: str, value: Any) -> Any:
    """The database form of one app field; None resets it to its default."""
    if value is None:
        return copy.deepcopy(DEFAULTS.get(field))
    if field == "channel_credentials":
        return stored_credentials(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=field != "callback_settings")
    return value.value if hasattr(value, "value") else value


async def get_app(
    session: AsyncSession, project_id: str, app_id: str, *, for_update: bool = False
) -> App:
    """The app, or 404. `for_update`: held until the transaction ends, so that changes at
    once to one app take turns (and one that comes after a delete finds nothing)."""
    if for_update:
        await repository.lock(session, app_id)
    app = await repository.get(session, project_id, app_id)
    if app is None:
        raise not_found("app", app_id)
    return app


async def list_apps(session: AsyncSession, project_id: str) -> Sequence[App]:
    return await repository.list_for_project(session, project_id)


async def create_app(session: AsyncSession, project_id: str, body: AppCreate) -> App:
    values = {field: stored_value(field, getattr(body, field)) for field in DEFAULTS}
    app = App(id=new_id(), project_id=project_id, display_name=body.display_name, **values)
    session.add(app)
    await session.flush()
    await _register_webhooks(session, app, [])
    return app


async def update_app(
    session: AsyncSession, project_id: str, app_id: str, changes: dict[str, Any]
) -> App:
    app = await get_app(session, project_id, app_id, for_update=True)
    cache.forget(app_id)
    before = app.channel_credentials
    for field, value in changes.items():
        if field == "display_name":
            if value is None:  # masked and absent (or null): an app must keep a name
                raise invalid("display_name", "is required: an app's name cannot be cleared")
            app.display_name = value
            continue
        if isinstance(value, SubFields):
            annotation = AppFields.model_fields[field].annotation
            value = value.validated(field, getattr(app, field), annotation)
        setattr(app, field, stored_value(field, value))
    await session.flush()
    if "channel_credentials" in changes:
        await _register_webhooks(session, app, before)
    return app


async def _register_webhooks(
    session: AsyncSession, app: App, before: Sequence[dict[str, Any]]
) -> None:
    """Queue the webhook registration of each credential that needs one (new, or its token
    changed, or saved again after the channel refused it: the way to retry), shown PENDING
    until the channel answers; a credential saved unchanged otherwise keeps its state."""
    old = {c["channel"]: c for c in before}
    credentials = []
    for stored in app.channel_credentials:
        plugin = plugin_for(stored["channel"])
        previous = old.get(stored["channel"])
        credential = dict(stored)
        refused = previous is not None and (previous.get("state") or {}).get("status") == FAILING
        if plugin is not None and (refused or plugin.registers_webhook(previous, stored)):
            await _queue_registration(session, app, credential)
        elif previous is not None:
            for kept in ("state", WEBHOOK_URL):
                if kept in previous:
                    credential[kept] = previous[kept]
        credentials.append(credential)
    if credentials != app.channel_credentials:
        app.channel_credentials = credentials
        await session.flush()


async def _queue_registration(session: AsyncSession, app: App, credential: dict[str, Any]) -> None:
    """Mark the credential PENDING (the caller stores it) and queue its registration."""
    credential["state"] = PENDING
    await enqueue(
        session,
        REGISTER_WEBHOOK_JOB,
        project_id=app.project_id,
        app_id=app.id,
        payload={"channel": credential["channel"]},
        priority=Priority.FOLLOW_UP,
    )


async def follow_inbound_urls(session: AsyncSession, inbound_url: Callable[[str, str], str]) -> int:
    """Register again every webhook a channel knows by another URL than `inbound_url(channel,
    app_id)` gives now (`CHORUS_PUBLIC_BASE_URL` changed since), or by none recorded; run as
    a server starts. Pending registrations are left to their jobs, which use the URL of
    their time. Returns how many were queued."""
    queued = 0
    for app in await repository.all_apps(session):
        credentials = []
        for stored in app.channel_credentials:
            credential = dict(stored)
            plugin = plugin_for(stored["channel"])
            if (
                plugin is not None
                and plugin.registers_webhook(None, stored)
                and (stored.get("state") or {}).get("status") != PENDING["status"]
                and stored.get(WEBHOOK_URL) != inbound_url(stored["channel"], app.id)
            ):
                await _queue_registration(session, app, credential)
                queued += 1
            credentials.append(credential)
        if credentials != app.channel_credentials:
            app.channel_credentials = credentials
            cache.forget(app.id)
    await session.flush()
    return queued


async def delete_app(session: AsyncSession, project_id: str, app_id: str) -> None:
    async def delete() -> None:
        await messages.lock_traffic(session, project_id, app_id=app_id)
        app = await get_app(session, project_id, app_id, for_update=True)
        cache.forget(app_id)
        await repository.delete_app(session, app)

    await retry_conflicts(session, delete)


async def queue_sizes(session: AsyncSession, apps: Sequence[App]) -> dict[str, int]:
    return await repository.queue_sizes(session, [app.id for app in apps])


def app_view(app: App, queue_limit: int, queue_size: int = 0) -> dict[str, Any]:
    """The App resource as every endpoint returns it (order as the public API's);
    `queue_limit` is the server's cap on an app's waiting messages."""
    view: dict[str, Any] = {
        "id": app.id,
        "channel_credentials": [credential_view(c) for c in app.channel_credentials],
        "conversation_metadata_report_view": app.conversation_metadata_report_view,
        "display_name": app.display_name,
        "rate_limits": app.rate_limits,
        "retention_policy": app.retention_policy,
        "dispatch_retention_policy": app.dispatch_retention_policy,
        "processing_mode": app.processing_mode,
        "smart_conversation": app.smart_conversation,
        "queue_stats": {"outbound_size": queue_size, "outbound_limit": queue_limit},
        "persist_message_status": {"enabled": False},
        "message_search": {"enabled": False},
    }
    if app.callback_settings is not None:
        view["callback_settings"] = app.callback_settings
    view["delivery_report_based_fallback"] = app.delivery_report_based_fallback
    view["message_retry_settings"] = app.message_retry_settings
    return view


def credential_view(stored: dict[str, Any]) -> dict[str, Any]:
    view = dict(stored)
    view.pop(WEBHOOK_URL, None)
    # Syntactically valid credentials are ACTIVE: chorus cannot check them against the
    # channel, except where it registers a webhook with it (`_register_webhooks`).
    view["state"] = stored.get("state") or ACTIVE
    bearer = stored.get("static_bearer")
    if bearer:
        view["channel_known_id"] = bearer["claimed_identity"]
    return view
