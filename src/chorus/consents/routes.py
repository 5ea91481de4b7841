"""HTTP routes of consent: opt-in / opt-out registration (API.md Part B §6.2) and the
consent lists with their audit records (Part A §6.2)."""

from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.consents import service
from chorus.consents.schemas import RegistrationRequest
from chorus.kit.auth import project_caller
from chorus.kit.db import ReadSession, WriteSession
from chorus.kit.pagination import page_request

router = APIRouter(dependencies=[Depends(project_caller)], tags=["consents"])


@router.post("/projects/{project_id}/optins:register")
async def register_opt_in(
    project_id: str,
    body: RegistrationRequest,
    request: Request,
    request_id: str | None = None,
    session: AsyncSession = WriteSession,
) -> dict[str, Any]:
    return await service.accept_registration(
        session,
        request.app.state.db.read_sessions,
        project_id,
        body,
        opted_in=True,
        request_id=request_id,
    )


@router.post("/projects/{project_id}/optouts:register")
async def register_opt_out(
    project_id: str,
    body: RegistrationRequest,
    request: Request,
    request_id: str | None = None,
    session: AsyncSession = WriteSession,
) -> dict[str, Any]:
    return await service.accept_registration(
        session,
        request.app.state.db.read_sessions,
        project_id,
        body,
        opted_in=False,
        request_id=request_id,
    )


@router.get("/projects/{project_id}/apps/{app_id}/consents/identities/{identity:path}")
async def list_audit_records(
    project_id: str, app_id: str, identity: str, session: AsyncSession = ReadSession
) -> dict[str, Any]:
    return await service.audit_records(session, project_id, app_id, identity)


@router.get("/projects/{project_id}/apps/{app_id}/consents/{list_type}")
async def list_identities(
    project_id: str,
    app_id: str,
    list_type: str,
    page_size: int | None = None,
    page_token: str | None = None,
    session: AsyncSession = ReadSession,
) -> dict[str, Any]:
    chosen = service.list_type_of(list_type)
    page = page_request(
        page_size, page_token, default=10, maximum=50, app_id=app_id, list_type=chosen.value
    )
    return await service.list_identities(session, project_id, app_id, chosen, page)
