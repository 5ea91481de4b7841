"""SQL for apps."""

from collections.abc import Sequence

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.models import App, OutboxJob

DISPATCH_KINDS = ("messages.dispatch",)
# Built once (kit/db.py, "Statements"): every dispatch and every channel webhook reads its
# app.
_BY_ID = select(App).where(App.id == bindparam("id"))


async def get(session: AsyncSession, project_id: str, app_id: str) -> App | None:
    app = await by_id(session, app_id)
    return app if app is not None and app.project_id == project_id else None


async def lock(session: AsyncSession, app_id: str) -> None:
    """Hold the app's row until the transaction ends (PostgreSQL; SQLite's single writer
    serialises anyway)."""
    await session.execute(select(App.id).where(App.id == app_id).with_for_update())


async def by_id(session: AsyncSession, app_id: str) -> App | None:
    """The app, whatever its project (channels' webhooks name only the app)."""
    return await session.scalar(_BY_ID, {"id": app_id})


async def all_apps(session: AsyncSession) -> Sequence[App]:
    result = await session.scalars(select(App).order_by(App.id))
    return result.all()


async def list_for_project(session: AsyncSession, project_id: str) -> Sequence[App]:
    result = await session.scalars(select(App).where(App.project_id == project_id).order_by(App.id))
    return result.all()


async def queue_sizes(session: AsyncSession, app_ids: Sequence[str]) -> dict[str, int]:
    """Outbound messages waiting for dispatch, per app."""
    if not app_ids:
        return {}
    rows = await session.execute(
        select(OutboxJob.app_id, func.count())
        .where(
            OutboxJob.app_id.in_(app_ids),
            OutboxJob.kind.in_(DISPATCH_KINDS),
            OutboxJob.status == "pending",
        )
        .group_by(OutboxJob.app_id)
    )
    return {app_id: count for app_id, count in rows.all()}


async def delete_app(session: AsyncSession, app: App) -> None:
    # Webhooks and conversations go with it (ON DELETE CASCADE).
    await session.execute(delete(App).where(App.id == app.id))
