"""HTTP route of capability lookups (API.md Part B §6.1)."""

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.capability import service
from chorus.capability.schemas import CapabilityQueryRequest
from chorus.kit.auth import project_caller
from chorus.kit.db import WriteSession

router = APIRouter(dependencies=[Depends(project_caller)], tags=["capability"])


@router.post("/projects/{project_id}/capability:query")
async def query_capability(
    project_id: str,
    body: CapabilityQueryRequest,
    request: Request,
    session: AsyncSession = WriteSession,
) -> dict[str, Any]:
    return await service.accept_query(session, request.app.state.db.read_sessions, project_id, body)
