"""HTTP routes of templates: v1 under the `/v1` API router (and so `/v1beta`), v2 under
`/v2` (API.md Part B §7). Same authentication as the rest of the API."""

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.auth import project_caller
from chorus.kit.db import ReadSession, WriteSession
from chorus.kit.update_mask import requested_changes, requested_mask
from chorus.templates import service
from chorus.templates.schemas import V1_UPDATABLE, V1Template, V2Template

v1_router = APIRouter(dependencies=[Depends(project_caller)], tags=["templates v1"])
v2_router = APIRouter(dependencies=[Depends(project_caller)], tags=["templates v2"])


# --- v1 --------------------------------------------------------------------------------------


@v1_router.post("/projects/{project_id}/templates")
async def create_v1(
    project_id: str, body: V1Template, session: AsyncSession = WriteSession
) -> dict[str, Any]:
    return service.v1_view(await service.create_v1(session, project_id, body))


@v1_router.get("/projects/{project_id}/templates")
async def list_v1(project_id: str, session: AsyncSession = ReadSession) -> dict[str, Any]:
    templates = await service.list_templates(session, project_id, 1)
    return {"templates": [service.v1_view(t) for t in templates]}


@v1_router.get("/projects/{project_id}/templates/{template_id}")
async def get_v1(
    project_id: str, template_id: str, session: AsyncSession = ReadSession
) -> dict[str, Any]:
    return service.v1_view(await service.get_template(session, project_id, template_id, 1))


@v1_router.patch("/projects/{project_id}/templates/{template_id}")
async def update_v1(
    project_id: str,
    template_id: str,
    request: Request,
    body: V1Template | None = None,
    session: AsyncSession = WriteSession,
) -> dict[str, Any]:
    changes = requested_changes(
        body, requested_mask(request), V1_UPDATABLE, ignored={"id", "create_time", "update_time"}
    )
    return service.v1_view(await service.update_v1(session, project_id, template_id, changes))


@v1_router.delete("/projects/{project_id}/templates/{template_id}")
async def delete_v1(
    project_id: str, template_id: str, session: AsyncSession = WriteSession
) -> dict[str, Any]:
    await service.delete_template(session, project_id, template_id, 1)
    return {}


# --- v2 --------------------------------------------------------------------------------------


@v2_router.post("/projects/{project_id}/templates")
async def create_v2(
    project_id: str, body: V2Template, session: AsyncSession = WriteSession
) -> dict[str, Any]:
    return service.v2_view(await service.create_v2(session, project_id, body))


@v2_router.get("/projects/{project_id}/templates")
async def list_v2(project_id: str, session: AsyncSession = ReadSession) -> dict[str, Any]:
    templates = await service.list_templates(session, project_id, 2)
    return {"templates": [service.v2_view(t) for t in templates]}


@v2_router.get("/projects/{project_id}/templates/{template_id}")
async def get_v2(
    project_id: str, template_id: str, session: AsyncSession = ReadSession
) -> dict[str, Any]:
    return service.v2_view(await service.get_template(session, project_id, template_id, 2))


@v2_router.put("/projects/{project_id}/templates/{template_id}")
async def update_v2(
    project_id: str, template_id: str, body: V2Template, session: AsyncSession = WriteSession
) -> dict[str, Any]:
    return service.v2_view(await service.update_v2(session, project_id, template_id, body))


@v2_router.delete("/projects/{project_id}/templates/{template_id}")
async def delete_v2(
    project_id: str, template_id: str, session: AsyncSession = WriteSession
) -> dict[str, Any]:
    await service.delete_template(session, project_id, template_id, 2)
    return {}


@v2_router.get("/projects/{project_id}/templates/{template_id}/translations")
async def list_translations(
    project_id: str,
    template_id: str,
    language_code: str | None = None,
    translation_version: str | None = None,
    session: AsyncSession = ReadSession,
) -> dict[str, Any]:
    template = await service.get_template(session, project_id, template_id, 2)
    return {"translations": service.v2_translations(template, language_code, translation_version)}
