"""HTTP routes of contacts (API.md §4.1)."""

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.contacts import service
from chorus.contacts.schemas import (
    UPDATABLE,
    ChannelProfileRequest,
    ContactCreate,
    ContactUpdate,
    MergeRequest,
    MergeRequestWithDestination,
)
from chorus.kit.auth import project_caller
from chorus.kit.db import ReadSession, WriteSession
from chorus.kit.pagination import page_request
from chorus.kit.update_mask import requested_changes, requested_mask
from chorus.wire.enums import Channel

router = APIRouter(dependencies=[Depends(project_caller)], tags=["contacts"])


@router.post("/projects/{project_id}/contacts")
async def create_contact(
    project_id: str, body: ContactCreate, session: AsyncSession = WriteSession
) -> dict[str, Any]:
    contact = await service.create_contact(session, project_id, body)
    return await service.view_of(session, contact)


@router.get("/projects/{project_id}/contacts")
async def list_contacts(
    project_id: str,
    page_size: int | None = None,
    page_token: str | None = None,
    external_id: str | None = None,
    channel: Channel | None = None,
    identity: str | None = None,
    session: AsyncSession = ReadSession,
) -> dict[str, Any]:
    page = page_request(
        page_size,
        page_token,
        default=10,
        maximum=20,
        external_id=external_id,
        channel=channel,
        identity=identity,
    )
    contacts, token = await service.list_contacts(
        session, project_id, page, external_id=external_id, channel=channel, identity=identity
    )
    return {"contacts": contacts, "next_page_token": token}


@router.get("/projects/{project_id}/contacts:identityConflicts")
@router.get("/projects/{project_id}/contacts/identityConflicts", include_in_schema=False)
@router.get("/projects/{project_id}/contacts/identityconflicts", include_in_schema=False)
async def list_identity_conflicts(
    project_id: str,
    page_size: int | None = None,
    page_token: str | None = None,
    session: AsyncSession = ReadSession,
) -> dict[str, Any]:
    page = page_request(page_size, page_token, default=10, maximum=20)
    conflicts, token = await service.identity_conflicts(session, project_id, page)
    return {"conflicts": conflicts, "next_page_token": token}


@router.post("/projects/{project_id}/contacts:getChannelProfile")
async def get_channel_profile(
    project_id: str,
    body: ChannelProfileRequest,
    request: Request,
    session: AsyncSession = ReadSession,
) -> dict[str, str]:
    return await service.channel_profile(session, request.app.state.runtime, project_id, body)


@router.post("/projects/{project_id}/contacts:merge")
async def merge_contacts_alias(
    project_id: str, body: MergeRequestWithDestination, session: AsyncSession = WriteSession
) -> dict[str, Any]:
    contact = await service.merge_contacts(session, project_id, body.destination_id, body.source_id)
    return await service.view_of(session, contact)


@router.post("/projects/{project_id}/contacts/{destination_id}:merge")
async def merge_contacts(
    project_id: str, destination_id: str, body: MergeRequest, session: AsyncSession = WriteSession
) -> dict[str, Any]:
    contact = await service.merge_contacts(session, project_id, destination_id, body.source_id)
    return await service.view_of(session, contact)


@router.get("/projects/{project_id}/contacts/{contact_id}")
async def get_contact(
    project_id: str, contact_id: str, session: AsyncSession = ReadSession
) -> dict[str, Any]:
    contact = await service.get_contact(session, project_id, contact_id)
    return await service.view_of(session, contact)


@router.patch("/projects/{project_id}/contacts/{contact_id}")
async def update_contact(
    project_id: str,
    contact_id: str,
    request: Request,
    body: ContactUpdate | None = None,
    session: AsyncSession = WriteSession,
) -> dict[str, Any]:
    changes = requested_changes(body, requested_mask(request), UPDATABLE, ignored={"id"})
    contact = await service.update_contact(session, project_id, contact_id, changes)
    return await service.view_of(session, contact)


@router.delete("/projects/{project_id}/contacts/{contact_id}")
async def delete_contact(
    project_id: str, contact_id: str, session: AsyncSession = WriteSession
) -> dict[str, Any]:
    await service.delete_contact(session, project_id, contact_id)
    return {}
