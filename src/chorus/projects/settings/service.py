"""Rules of project settings (API.md Part A §6.1): one document per project, created once;
absent settings behave as the defaults (`unified_contact_id_enabled: false`). Unified
contact ids cannot be turned on while identity conflicts exist."""

from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.contacts import service as contacts
from chorus.kit.clock import utcnow
from chorus.kit.db import insert_ignoring_conflicts
from chorus.kit.errors import already_exists, failed_precondition, not_found
from chorus.kit.pagination import PageRequest
from chorus.kit.update_mask import SubFields
from chorus.models import ProjectSettings
from chorus.projects.settings import repository
from chorus.projects.settings.schemas import ContactSettings, ProjectSettingsRequest

RESOURCE = "project settings"


def settings_view(settings: ProjectSettings) -> dict[str, Any]:
    contact_settings = ContactSettings.model_validate(settings.contact_settings or {})
    return {
        "project_id": settings.project_id,
        "settings": {"contact_settings": contact_settings.model_dump()},
    }


async def _check_conflicts(
    session: AsyncSession, project_id: str, before: dict[str, Any], after: dict[str, Any]
) -> None:
    if not after.get("unified_contact_id_enabled") or before.get("unified_contact_id_enabled"):
        return
    found, _ = await contacts.identity_conflicts(session, project_id, PageRequest(1, None, ""))
    if found:
        raise failed_precondition(
            "Unified contact ids cannot be enabled while identity conflicts exist "
            "(see contacts:identityConflicts); merge or fix those contacts first"
        )


async def create_settings(
    session: AsyncSession, project_id: str, body: ProjectSettingsRequest | None
) -> ProjectSettings:
    contact_settings = (
        body.contact_settings.model_dump()
        if body is not None and body.contact_settings is not None
        else {}
    )
    await _check_conflicts(session, project_id, {}, contact_settings)
    now = utcnow()
    inserted = await session.execute(
        insert_ignoring_conflicts(
            session,
            ProjectSettings,
            {
                "project_id": project_id,
                "contact_settings": contact_settings,
                "create_time": now,
                "update_time": now,
            },
        )
    )
    if not inserted.rowcount:
        raise already_exists(
            f"Project {project_id} already has settings; update them with PATCH",
            RESOURCE,
            project_id,
        )
    settings = await session.get(ProjectSettings, project_id)
    assert settings is not None
    return settings


async def get_settings(session: AsyncSession, project_id: str) -> ProjectSettings:
    settings = await repository.get(session, project_id)
    if settings is None:
        raise not_found(RESOURCE, project_id)
    return settings


async def update_settings(
    session: AsyncSession, project_id: str, changes: dict[str, Any]
) -> ProjectSettings:
    """`changes` maps top-level fields to their new value (None: back to the defaults)."""
    settings = await get_settings(session, project_id)
    if "contact_settings" in changes:
        value = changes["contact_settings"]
        if isinstance(value, SubFields):  # `contact_settings.<name>`: only those change
            stored = settings.contact_settings or {}
            value = value.validated("contact_settings", stored, ContactSettings)
        new = value.model_dump() if value is not None else {}
        await _check_conflicts(session, project_id, settings.contact_settings or {}, new)
        settings.contact_settings = new
    settings.update_time = utcnow()
    await session.flush()
    return settings


async def delete_settings(session: AsyncSession, project_id: str) -> None:
    await get_settings(session, project_id)
    await session.execute(delete(ProjectSettings).where(ProjectSettings.project_id == project_id))
