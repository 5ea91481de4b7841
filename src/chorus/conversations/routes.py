"""HTTP routes of conversations (API.md §5.1).

`:recent` and `/{conversation_id}:stop` are literal suffixes: Starlette matches on the
decoded path, so a client sending `%3A` for the colon reaches the same routes.
"""

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.conversations import inject, service
from chorus.conversations.inject import InjectEventRequest, InjectMessageRequest
from chorus.conversations.repository import ConversationFilter
from chorus.conversations.schemas import UPDATABLE, ConversationCreate, ConversationUpdate
from chorus.kit.auth import project_caller
from chorus.kit.clock import rfc3339, utcnow
from chorus.kit.db import ReadSession, WriteSession
from chorus.kit.errors import invalid
from chorus.kit.pagination import page_request
from chorus.kit.update_mask import requested_changes, requested_mask
from chorus.messages import repository as messages_repository
from chorus.messages.service import message_view
from chorus.models import Message
from chorus.wire.enums import Channel, MetadataUpdateStrategy, SortOrder

router = APIRouter(dependencies=[Depends(project_caller)], tags=["conversations"])


@router.post("/projects/{project_id}/conversations")
async def create_conversation(
    project_id: str, body: ConversationCreate, session: AsyncSession = WriteSession
) -> dict[str, Any]:
    conversation = await service.create_conversation(session, project_id, body)
    return service.conversation_view(conversation)


@router.get("/projects/{project_id}/conversations")
async def list_conversations(
    project_id: str,
    app_id: str | None = None,
    contact_id: str | None = None,
    only_active: bool = False,
    active_channel: Channel | None = None,
    page_size: int | None = None,
    page_token: str | None = None,
    session: AsyncSession = ReadSession,
) -> dict[str, Any]:
    if not app_id and not contact_id:
        raise invalid("app_id", "app_id or contact_id is required")
    where = ConversationFilter(
        project_id,
        app_id=app_id or None,
        contact_id=contact_id or None,
        only_active=only_active,
        active_channel=active_channel.value if active_channel else None,
    )
    page = page_request(
        page_size,
        page_token,
        default=10,
        maximum=20,
        app_id=where.app_id,
        contact_id=where.contact_id,
        only_active=where.only_active,
        active_channel=where.active_channel,
    )
    result = await service.list_conversations(session, where, page)
    return {
        "conversations": [service.conversation_view(c) for c in result.conversations],
        "next_page_token": result.next_page_token,
        "total_size": result.total_size,
    }


@router.get("/projects/{project_id}/conversations:recent")
async def list_recent_conversations(
    project_id: str,
    app_id: str | None = None,
    only_active: bool = False,
    order: SortOrder = SortOrder.DESC,
    page_size: int | None = None,
    page_token: str | None = None,
    session: AsyncSession = ReadSession,
) -> dict[str, Any]:
    if not app_id:
        raise invalid("app_id", "is required")
    where = ConversationFilter(project_id, app_id=app_id, only_active=only_active)
    page = page_request(
        page_size,
        page_token,
        default=10,
        maximum=50,
        app_id=app_id,
        only_active=only_active,
        order=order.value,
    )
    result = await service.list_recent_conversations(session, where, order, page)
    newest = await messages_repository.newest_per_conversation(
        session, [c.id for c in result.conversations]
    )
    return {
        "conversations": [
            _recent(service.conversation_view(c), newest.get(c.id)) for c in result.conversations
        ],
        "next_page_token": result.next_page_token,
        "total_size": result.total_size,
    }


@router.get("/projects/{project_id}/conversations/{conversation_id}")
async def get_conversation(
    project_id: str, conversation_id: str, session: AsyncSession = ReadSession
) -> dict[str, Any]:
    conversation = await service.get_conversation(session, project_id, conversation_id)
    return service.conversation_view(conversation)


@router.patch("/projects/{project_id}/conversations/{conversation_id}")
async def update_conversation(
    project_id: str,
    conversation_id: str,
    request: Request,
    body: ConversationUpdate | None = None,
    metadata_update_strategy: MetadataUpdateStrategy = MetadataUpdateStrategy.REPLACE,
    session: AsyncSession = WriteSession,
) -> dict[str, Any]:
    changes = requested_changes(body, requested_mask(request), UPDATABLE, ignored={"id"})
    conversation = await service.update_conversation(
        session, project_id, conversation_id, changes, metadata_update_strategy
    )
    return service.conversation_view(conversation)


@router.delete("/projects/{project_id}/conversations/{conversation_id}")
async def delete_conversation(
    project_id: str, conversation_id: str, session: AsyncSession = WriteSession
) -> dict[str, Any]:
    await service.delete_conversation(session, project_id, conversation_id)
    return {}


@router.post("/projects/{project_id}/conversations/{conversation_id}:stop")
async def stop_conversation(
    project_id: str, conversation_id: str, session: AsyncSession = WriteSession
) -> dict[str, Any]:
    await service.stop_conversation(session, project_id, conversation_id)
    return {}


def _recent(conversation: dict[str, Any], last: Message | None) -> dict[str, Any]:
    element: dict[str, Any] = {"conversation": conversation}
    if last is not None:
        element["last_message"] = message_view(last)
    return element


@router.post("/projects/{project_id}/conversations/{conversation_id}:inject-message")
async def inject_message(
    project_id: str,
    conversation_id: str,
    body: InjectMessageRequest,
    session: AsyncSession = WriteSession,
) -> dict[str, Any]:
    conversation = await service.conversation_for_traffic(session, project_id, conversation_id)
    await inject.inject_message(session, conversation, body)
    return {}


@router.post("/projects/{project_id}/conversations/{conversation_id}:inject-event")
async def inject_event(
    project_id: str,
    conversation_id: str,
    body: InjectEventRequest,
    session: AsyncSession = WriteSession,
) -> dict[str, Any]:
    conversation = await service.conversation_for_traffic(session, project_id, conversation_id)
    event = await inject.inject_event(session, conversation, body)
    return {"event_id": event.id, "accepted_time": rfc3339(utcnow())}
