"""SQL for project settings."""

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.models import ProjectSettings

# Built once (kit/db.py, "Statements"): every new contact reads its project's settings.
_BY_ID = select(ProjectSettings).where(ProjectSettings.project_id == bindparam("project_id"))


async def get(session: AsyncSession, project_id: str) -> ProjectSettings | None:
    return await session.scalar(_BY_ID, {"project_id": project_id})


async def unified_contact_ids(session: AsyncSession, project_id: str) -> bool:
    """Whether a phone number on SMS, RCS and MMS is one contact (false without settings)."""
    settings = await get(session, project_id)
    return bool(settings and (settings.contact_settings or {}).get("unified_contact_id_enabled"))
