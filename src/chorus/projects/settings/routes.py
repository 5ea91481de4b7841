"""HTTP routes of project settings (API.md Part A §6.1): the singular `/settings`."""

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.auth import project_caller
from chorus.kit.db import ReadSession, WriteSession
from chorus.kit.update_mask import requested_changes, requested_mask
from chorus.projects.settings import service
from chorus.projects.settings.schemas import UPDATABLE, ProjectSettingsRequest

router = APIRouter(dependencies=[Depends(project_caller)], tags=["project settings"])


@router.post("/projects/{project_id}/settings")
async def create_settings(
    project_id: str,
    body: ProjectSettingsRequest | None = None,
    session: AsyncSession = WriteSession,
) -> dict[str, Any]:
    return service.settings_view(await service.create_settings(session, project_id, body))


@router.get("/projects/{project_id}/settings")
async def get_settings(project_id: str, session: AsyncSession = ReadSession) -> dict[str, Any]:
    return service.settings_view(await service.get_settings(session, project_id))


@router.patch("/projects/{project_id}/settings")
async def update_settings(
    project_id: str,
    request: Request,
    body: ProjectSettingsRequest | None = None,
    session: AsyncSession = WriteSession,
) -> dict[str, Any]:
    # Without a mask each top-level object present replaces the stored one (the Node SDK
    # sends none); with one, only the masked objects change.
    changes = requested_changes(
        body, requested_mask(request), UPDATABLE, nested={"contact_settings"}
    )
    return service.settings_view(await service.update_settings(session, project_id, changes))


@router.delete("/projects/{project_id}/settings")
async def delete_settings(project_id: str, session: AsyncSession = WriteSession) -> dict[str, Any]:
    await service.delete_settings(session, project_id)
    return {}
