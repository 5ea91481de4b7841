"""SQL of templates: one row per template, the whole template one JSON document."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.models import Template


async def get(
    session: AsyncSession, project_id: str, template_id: str, *, for_update: bool = False
) -> Template | None:
    return await session.get(
        Template,
        (project_id, template_id),
        with_for_update=for_update,
        populate_existing=for_update,
    )


async def list_for_project(
    session: AsyncSession, project_id: str, api_version: int
) -> Sequence[Template]:
    result = await session.scalars(
        select(Template)
        .where(Template.project_id == project_id, Template.api_version == api_version)
        .order_by(Template.create_time, Template.id)
    )
    return result.all()
