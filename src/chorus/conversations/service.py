"""Rules for conversations (API.md §5)."""

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.apps import repository as apps
from chorus.callbacks.events import record_event
from chorus.conversations import repository
from chorus.conversations.repository import ConversationFilter
from chorus.conversations.schemas import ConversationCreate, metadata_json_problem
from chorus.kit.clock import EPOCH, rfc3339
from chorus.kit.db import retry_conflicts
from chorus.kit.errors import ApiError, already_exists, failed_precondition, invalid, not_found
from chorus.kit.ids import new_id
from chorus.kit.pagination import PageRequest, page_result
from chorus.messages import repository as messages
from chorus.models import App, Conversation
from chorus.wire.enums import MetadataUpdateStrategy, ProcessingMode, SortOrder, WebhookTrigger


@dataclass(frozen=True)
class Page:
    conversations: list[Conversation]
    next_page_token: str
    total_size: int


def conversation_view(conversation: Conversation) -> dict[str, Any]:
    """The Conversation resource as endpoints and callbacks carry it (API.md §5.2)."""
    view: dict[str, Any] = {
        "id": conversation.id,
        "app_id": conversation.app_id,
        "contact_id": conversation.contact_id,
        "active": conversation.active,
    }
    if conversation.active_channel is not None:
        view["active_channel"] = conversation.active_channel
    view["last_received"] = rfc3339(conversation.last_received or EPOCH)
    if conversation.metadata_ is not None:
        view["metadata"] = conversation.metadata_
    if conversation.metadata_json is not None:
        view["metadata_json"] = conversation.metadata_json
    if conversation.correlation_id is not None:
        view["correlation_id"] = conversation.correlation_id
    return view


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch: objects merge recursively, `null` removes a key, anything
    else replaces the target."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def _conversation_app_problem(app: App) -> ApiError | None:
    if app.processing_mode == ProcessingMode.DISPATCH.value:
        return failed_precondition(
            f"App {app.id} is in DISPATCH processing mode, which keeps no conversations; "
            "switch it to CONVERSATION mode to use conversations"
        )
    return None


async def get_conversation(
    session: AsyncSession, project_id: str, conversation_id: str, *, for_update: bool = False
) -> Conversation:
    conversation = await repository.get(session, project_id, conversation_id, for_update=for_update)
    if conversation is None:
        raise not_found("conversation", conversation_id)
    return conversation


def _already_active(existing: Conversation) -> ApiError:
    return already_exists(
        f"Conversation {existing.id} is already active for app {existing.app_id} and "
        f"contact {existing.contact_id}; stop it before starting another",
        "conversation",
        existing.id,
    )


async def create_conversation(
    session: AsyncSession, project_id: str, body: ConversationCreate
) -> Conversation:
    app = await apps.get(session, project_id, body.app_id)
    if app is None:
        raise invalid("app_id", f"no app {body.app_id} in this project")
    problem = _conversation_app_problem(app)
    if problem:
        raise problem
    if not await repository.contact_exists(session, project_id, body.contact_id):
        raise invalid("contact_id", f"no contact {body.contact_id} in this project")
    if body.active:
        existing = await repository.active_for_pair(session, app.id, body.contact_id)
        if existing is not None:
            raise _already_active(existing)
    conversation = Conversation(
        id=new_id(),
        project_id=project_id,
        app_id=app.id,
        contact_id=body.contact_id,
        active=body.active,
        active_channel=body.active_channel.value if body.active_channel else None,
        last_received=None,
        metadata_=body.metadata or None,
        metadata_json=body.metadata_json,
        correlation_id=body.correlation_id or None,
    )
    try:
        # A savepoint, so that losing the race for the one active conversation of the pair
        # leaves the transaction usable to name the winner.
        async with session.begin_nested():
            session.add(conversation)
            await session.flush()
    except IntegrityError:
        winner = await repository.active_for_pair(session, app.id, body.contact_id)
        if winner is None:
            raise ApiError(
                409, "The app or contact changed concurrently; retry", status="ABORTED"
            ) from None
        raise _already_active(winner) from None
    if conversation.active:
        await _announce(session, project_id, conversation, WebhookTrigger.CONVERSATION_START)
    return conversation


async def list_conversations(
    session: AsyncSession, where: ConversationFilter, page: PageRequest
) -> Page:
    rows = await repository.list_page(session, where, page.after_id, page.size + 1)
    conversations, token = page_result(page, list(rows), lambda c: c.id)
    return Page(conversations, token, await repository.count(session, where))


def _recent_key(conversation: Conversation) -> list[str]:
    return [rfc3339(conversation.last_received or EPOCH), conversation.id]


def _recent_after(after: Any) -> tuple[datetime, str] | None:
    if after is None:
        return None
    try:
        moment, last_id = after
        return datetime.fromisoformat(moment), str(last_id)
    except (TypeError, ValueError):
        raise invalid("page_token", "is not a token returned by this list") from None


async def list_recent_conversations(
    session: AsyncSession, where: ConversationFilter, order: SortOrder, page: PageRequest
) -> Page:
    after = _recent_after(page.after)
    app = await apps.get(session, where.project_id, where.app_id or "")
    if app is None:
        return Page([], "", 0)
    problem = _conversation_app_problem(app)
    if problem:
        raise problem
    rows = await repository.recent_page(session, where, order, after, page.size + 1)
    conversations, token = page_result(page, list(rows), _recent_key)
    return Page(conversations, token, await repository.count(session, where))


async def update_conversation(
    session: AsyncSession,
    project_id: str,
    conversation_id: str,
    changes: dict[str, Any],
    strategy: MetadataUpdateStrategy,
) -> Conversation:
    """`changes` maps each field to change to its new value (None clears it)."""
    conversation = await get_conversation(session, project_id, conversation_id, for_update=True)
    for field, value in changes.items():
        if field == "metadata_json":
            if strategy == MetadataUpdateStrategy.MERGE_PATCH:
                value = merge_patch(conversation.metadata_json, value)
            problem = None if value is None else metadata_json_problem(value)
            if problem:
                raise invalid("metadata_json", problem)
            conversation.metadata_json = value
        elif field == "metadata":
            conversation.metadata_ = value or None
        elif field == "correlation_id":
            conversation.correlation_id = value or None
        elif field == "active_channel":
            conversation.active_channel = value.value if value else None
    await session.flush()
    return conversation


async def stop_conversation(session: AsyncSession, project_id: str, conversation_id: str) -> None:
    conversation = await get_conversation(session, project_id, conversation_id, for_update=True)
    if not conversation.active:
        return
    conversation.active = False
    await session.flush()
    await _announce(session, project_id, conversation, WebhookTrigger.CONVERSATION_STOP)


async def _announce(
    session: AsyncSession,
    project_id: str,
    conversation: Conversation,
    trigger: WebhookTrigger,
    view: dict[str, Any] | None = None,
) -> None:
    """CONVERSATION_START, _STOP or _DELETE. The conversation's id orders them, so a webhook
    never hears of a stop before its start. `view`: the conversation as it was (a delete)."""
    await record_event(
        session,
        trigger,
        project_id=project_id,
        app_id=conversation.app_id,
        payload_key=f"{trigger.value.lower()}_notification",
        payload={"conversation": view or conversation_view(conversation)},
        ordering_key=conversation.id,
    )


async def delete_conversation(session: AsyncSession, project_id: str, conversation_id: str) -> None:
    async def delete() -> None:
        await messages.lock_traffic(session, project_id, conversations=[conversation_id])
        conversation = await get_conversation(session, project_id, conversation_id, for_update=True)
        view = conversation_view(conversation)
        await repository.delete_conversation(session, conversation)
        await _announce(session, project_id, conversation, WebhookTrigger.CONVERSATION_DELETE, view)

    await retry_conflicts(session, delete)


async def announce_deleted_with_contact(
    session: AsyncSession, project_id: str, contact_id: str
) -> None:
    """CONVERSATION_DELETE for each conversation of a contact about to be deleted (they go
    with it: API.md Part A §4.7), so webhooks hear of every deleted conversation."""
    for conversation in await repository.of_contact(session, contact_id):
        await _announce(session, project_id, conversation, WebhookTrigger.CONVERSATION_DELETE)


async def active_conversation(
    session: AsyncSession,
    project_id: str,
    app_id: str,
    contact_id: str,
    channel: str | None,
    *,
    received: datetime,
) -> Conversation:
    """The active conversation of the pair, received into at `received`: started (with
    CONVERSATION_START, announcing that time) when there is none, as traffic always lands in
    one (API.md Part B §3.4)."""
    existing = await repository.active_for_pair(session, app_id, contact_id)
    if existing is not None:
        existing.last_received = received
        existing.active_channel = channel
        return existing
    return await start_conversation(
        session, project_id, app_id, contact_id, channel, last_received=received
    )


async def start_conversation(
    session: AsyncSession,
    project_id: str,
    app_id: str,
    contact_id: str,
    channel: str | None,
    *,
    last_received: datetime | None = None,
    shape: Callable[[Conversation], None] | None = None,
) -> Conversation:
    """A new active conversation of a pair that the caller found without one (or the one a
    concurrent transaction started meanwhile). `shape` sets what the caller's traffic gives
    the conversation (a send's metadata and correlation id), before CONVERSATION_START
    announces it as it is after the change."""
    conversation = Conversation(
        id=new_id(),
        project_id=project_id,
        app_id=app_id,
        contact_id=contact_id,
        active=True,
        active_channel=channel,
        last_received=last_received,
    )
    if shape is not None:
        shape(conversation)
    try:
        async with session.begin_nested():
            session.add(conversation)
            await session.flush()
    except IntegrityError:
        winner = await repository.active_for_pair(session, app_id, contact_id)
        if winner is None:
            raise
        if shape is not None:
            shape(winner)
        return winner
    await _announce(session, project_id, conversation, WebhookTrigger.CONVERSATION_START)
    return conversation


def apply_metadata(
    conversation: Conversation, metadata: Any, strategy: MetadataUpdateStrategy
) -> None:
    """`conversation_metadata` of a send request (API.md Part B §3.8)."""
    if strategy == MetadataUpdateStrategy.MERGE_PATCH and isinstance(metadata, dict):
        conversation.metadata_json = merge_patch(conversation.metadata_json or {}, metadata)
    else:
        conversation.metadata_json = metadata


async def conversation_for_traffic(
    session: AsyncSession, project_id: str, conversation_id: str
) -> Conversation:
    """A conversation that messages may be injected into (its app in CONVERSATION mode)."""
    conversation = await get_conversation(session, project_id, conversation_id, for_update=True)
    app = await apps.get(session, project_id, conversation.app_id)
    problem = _conversation_app_problem(app) if app is not None else None
    if problem:
        raise problem
    return conversation
