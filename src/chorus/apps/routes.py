"""HTTP routes of apps (API.md §2.1)."""

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.apps import service
from chorus.apps.schemas import NESTED, READ_ONLY, UPDATABLE, AppCreate, AppUpdate
from chorus.kit.auth import project_caller
from chorus.kit.db import ReadSession, WriteSession
from chorus.kit.update_mask import requested_changes, requested_mask

router = APIRouter(dependencies=[Depends(project_caller)], tags=["apps"])


def queue_limit(request: Request) -> int:
    """`CHORUS_APP_QUEUE_LIMIT`, which apps report in `queue_stats.outbound_limit`."""
    return request.app.state.settings.app_queue_limit


QueueLimit = Depends(queue_limit)


@router.post("/projects/{project_id}/apps")
async def create_app(
    project_id: str, body: AppCreate, session: AsyncSession = WriteSession, limit: int = QueueLimit
) -> dict[str, Any]:
    app = await service.create_app(session, project_id, body)
    return service.app_view(app, limit)


@router.get("/projects/{project_id}/apps")
async def list_apps(
    project_id: str, session: AsyncSession = ReadSession, limit: int = QueueLimit
) -> dict[str, Any]:
    apps = await service.list_apps(session, project_id)
    sizes = await service.queue_sizes(session, apps)
    return {"apps": [service.app_view(app, limit, sizes.get(app.id, 0)) for app in apps]}


@router.get("/projects/{project_id}/apps/{app_id}")
async def get_app(
    project_id: str, app_id: str, session: AsyncSession = ReadSession, limit: int = QueueLimit
) -> dict[str, Any]:
    app = await service.get_app(session, project_id, app_id)
    sizes = await service.queue_sizes(session, [app])
    return service.app_view(app, limit, sizes.get(app.id, 0))


@router.patch("/projects/{project_id}/apps/{app_id}")
async def update_app(
    project_id: str,
    app_id: str,
    request: Request,
    body: AppUpdate | None = None,
    session: AsyncSession = WriteSession,
    limit: int = QueueLimit,
) -> dict[str, Any]:
    changes = requested_changes(
        body, requested_mask(request), UPDATABLE, ignored=READ_ONLY, nested=NESTED
    )
    app = await service.update_app(session, project_id, app_id, changes)
    sizes = await service.queue_sizes(session, [app])
    return service.app_view(app, limit, sizes.get(app.id, 0))


@router.delete("/projects/{project_id}/apps/{app_id}")
async def delete_app(
    project_id: str, app_id: str, session: AsyncSession = WriteSession
) -> dict[str, Any]:
    await service.delete_app(session, project_id, app_id)
    return {}
