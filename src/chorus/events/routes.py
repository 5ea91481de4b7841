"""HTTP routes of events (API.md Part B §4)."""

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.events import service
from chorus.events.schemas import SendEventRequest
from chorus.kit.auth import project_caller
from chorus.kit.clock import rfc3339
from chorus.kit.db import ReadSession, WriteSession
from chorus.kit.pagination import page_request

router = APIRouter(dependencies=[Depends(project_caller)], tags=["events"])


@router.post("/projects/{project_id}/events:send")
async def send_event(
    project_id: str, body: SendEventRequest, request: Request, session: AsyncSession = WriteSession
) -> dict[str, str]:
    event = await service.accept_event(
        session, request.app.state.db.read_sessions, project_id, body
    )
    return {"event_id": event.id, "accepted_time": rfc3339(event.accept_time)}


@router.get("/projects/{project_id}/events")
async def list_events(
    project_id: str,
    conversation_id: str | None = None,
    contact_id: str | None = None,
    page_size: int | None = None,
    page_token: str | None = None,
    session: AsyncSession = ReadSession,
) -> dict[str, Any]:
    # An empty value is no filter, as for messages (an unset proto3 string is "").
    conversation_id, contact_id = conversation_id or None, contact_id or None
    page = page_request(
        page_size,
        page_token,
        default=10,
        maximum=1000,
        conversation_id=conversation_id,
        contact_id=contact_id,
    )
    events, token = await service.list_events(
        session, project_id, page, conversation_id=conversation_id, contact_id=contact_id
    )
    return {"events": [service.event_view(e) for e in events], "next_page_token": token}


@router.get("/projects/{project_id}/events/{event_id}")
async def get_event(
    project_id: str, event_id: str, session: AsyncSession = ReadSession
) -> dict[str, Any]:
    return service.event_view(await service.get_event(session, project_id, event_id))


@router.delete("/projects/{project_id}/events/{event_id}")
async def delete_event(
    project_id: str, event_id: str, session: AsyncSession = WriteSession
) -> dict[str, Any]:
    await service.delete_event(session, project_id, event_id)
    return {}
