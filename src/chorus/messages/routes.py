"""HTTP routes of messages (API.md Part B §2)."""

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.auth import project_caller
from chorus.kit.clock import rfc3339
from chorus.kit.db import ReadSession, WriteSession
from chorus.kit.errors import invalid
from chorus.kit.pagination import page_request
from chorus.messages import service
from chorus.messages.repository import MessageFilter
from chorus.messages.schemas import (
    Direction,
    FetchLastMessageRequest,
    MessagesSource,
    SendMessageRequest,
    TranscodeRequest,
    UpdateMessageRequest,
    View,
)
from chorus.wire.enums import Channel, ProcessingMode

router = APIRouter(dependencies=[Depends(project_caller)], tags=["messages"])

MODES = {
    MessagesSource.CONVERSATION_SOURCE: ProcessingMode.CONVERSATION.value,
    MessagesSource.DISPATCH_SOURCE: ProcessingMode.DISPATCH.value,
}


@router.post("/projects/{project_id}/messages:send")
async def send_message(
    project_id: str,
    body: SendMessageRequest,
    request: Request,
) -> dict[str, str]:
    """The lean path: settings come from a cache, the write is group-committed."""
    state = request.app.state
    accepted = await service.accept_send(
        state.db.read_sessions, project_id, body, state.settings.app_queue_limit
    )
    try:
        await state.runtime.committer.insert(accepted.rows)
    except IntegrityError:
        # The app passed the (cached) check but was deleted since: its row is what the
        # message's foreign key missed (the rows hold no other reference).
        raise service.unknown_app(body.app_id) from None
    return {"message_id": accepted.message_id, "accepted_time": rfc3339(accepted.accept_time)}


@router.post("/projects/{project_id}/messages:transcode")
async def transcode_message(
    project_id: str, body: TranscodeRequest, request: Request
) -> dict[str, Any]:
    """Each channel's native payload, from the transcoders dispatch uses (API.md §5)."""
    result = await service.transcode(request.app.state.db.read_sessions, project_id, body)
    return {"transcoded_message": result}


@router.get("/projects/{project_id}/messages")
async def list_messages(
    project_id: str,
    conversation_id: str | None = None,
    contact_id: str | None = None,
    app_id: str | None = None,
    channel_identity: str | None = None,
    start_time: str | None = None,
    end_time: str | None = None,
    page_size: int | None = None,
    page_token: str | None = None,
    view: View = View.WITH_METADATA,
    messages_source: MessagesSource = MessagesSource.CONVERSATION_SOURCE,
    only_recipient_originated: bool = False,
    channel: Channel | None = None,
    direction: Direction | None = None,
    session: AsyncSession = ReadSession,
) -> dict[str, Any]:
    if messages_source == MessagesSource.DISPATCH_SOURCE and contact_id:
        raise invalid("contact_id", "cannot be used with DISPATCH_SOURCE")
    if only_recipient_originated:
        if direction == Direction.TO_CONTACT:
            raise invalid("direction", "cannot be TO_CONTACT with only_recipient_originated")
        direction = Direction.TO_APP
    where = MessageFilter(
        project_id=project_id,
        processing_mode=MODES[messages_source],
        # An empty value is no filter, as proto3 clients mean it (an unset string is "").
        conversation_id=conversation_id or None,
        contact_id=contact_id or None,
        app_id=app_id or None,
        identity=channel_identity or None,
        start_time=service.parse_time(start_time, "start_time"),
        end_time=service.parse_time(end_time, "end_time"),
        channel=channel.value if channel else None,
        direction=direction.value if direction else None,
    )
    page = page_request(page_size, page_token, default=10, maximum=1000, **where.__dict__)
    messages, token = await service.list_messages(session, where, page)
    return {
        "messages": [service.message_view(m, view) for m in messages],
        "next_page_token": token,
    }


@router.post("/projects/{project_id}/messages:fetch-last-message")
async def fetch_last_messages(
    project_id: str, body: FetchLastMessageRequest, session: AsyncSession = ReadSession
) -> dict[str, Any]:
    source = body.messages_source or MessagesSource.DISPATCH_SOURCE
    view = body.view or View.WITH_METADATA
    if source == MessagesSource.DISPATCH_SOURCE and body.contact_ids:
        raise invalid("contact_ids", "cannot be used with DISPATCH_SOURCE")
    where = MessageFilter(
        project_id=project_id,
        processing_mode=MODES[source],
        app_id=body.app_id or None,
        start_time=service.parse_time(body.start_time, "start_time"),
        end_time=service.parse_time(body.end_time, "end_time"),
        channel=body.channel.value if body.channel else None,
        direction=body.direction.value if body.direction else None,
    )
    page = page_request(
        body.page_size,
        body.page_token,
        default=10,
        maximum=1000,
        identities=body.channel_identities,
        contact_ids=body.contact_ids,
        **where.__dict__,
    )
    messages, token = await service.last_messages(
        session, where, page, identities=body.channel_identities, contact_ids=body.contact_ids
    )
    return {
        "messages": [service.message_view(m, view) for m in messages],
        "next_page_token": token,
    }


@router.get("/projects/{project_id}/messages/{message_id}")
async def get_message(
    project_id: str,
    message_id: str,
    messages_source: MessagesSource = MessagesSource.CONVERSATION_SOURCE,
    session: AsyncSession = ReadSession,
) -> dict[str, Any]:
    message = await service.get_message(session, project_id, message_id, MODES[messages_source])
    return service.message_view(message)


@router.patch("/projects/{project_id}/messages/{message_id}")
async def update_message(
    project_id: str,
    message_id: str,
    body: UpdateMessageRequest,
    messages_source: MessagesSource = MessagesSource.CONVERSATION_SOURCE,
    session: AsyncSession = WriteSession,
) -> dict[str, Any]:
    message = await service.get_message(
        session, project_id, message_id, MODES[messages_source], for_update=True
    )
    message.metadata_ = body.metadata
    return service.message_view(message)


@router.delete("/projects/{project_id}/messages/{message_id}")
async def delete_message(
    project_id: str,
    message_id: str,
    messages_source: MessagesSource = MessagesSource.CONVERSATION_SOURCE,
    session: AsyncSession = WriteSession,
) -> dict[str, Any]:
    message = await service.get_message(
        session, project_id, message_id, MODES[messages_source], for_update=True
    )
    await session.delete(message)
    return {}
