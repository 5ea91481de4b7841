"""A short-lived, per-process cache of apps, for the work done on every message.

`messages:send` needs an app's mode and channels on every request, and each message's
dispatch, its channel's webhooks (delivery reports, replies) and the simulator's reports need
the app again; reading the row each time costs more than most of what they do. Entries live
`TTL` seconds, and this process forgets an app at once when it updates or deletes it; another
process sharing the database sees such a change within `TTL` (an app deleted meanwhile fails
its messages with UNKNOWN_APP at dispatch).
"""

import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chorus.apps import repository
from chorus.models import App

TTL = 2.0


@dataclass(frozen=True)
class AppSettings:
    id: str
    project_id: str
    processing_mode: str
    channels: frozenset[str]
    keeps_dispatch_messages: bool


_cache: dict[str, tuple[float, AppSettings]] = {}
_apps: dict[str, tuple[float, App]] = {}
_COLUMNS = [column.key for column in App.__mapper__.column_attrs]


def snapshot(app: App) -> AppSettings:
    return AppSettings(
        id=app.id,
        project_id=app.project_id,
        processing_mode=app.processing_mode,
        channels=frozenset(c["channel"] for c in app.channel_credentials),
        keeps_dispatch_messages=bool((app.dispatch_retention_policy or {}).get("ttl_days")),
    )


async def app_settings(
    sessions: async_sessionmaker[AsyncSession], project_id: str, app_id: str
) -> AppSettings | None:
    """The app's settings; a session is opened only when they are not cached."""
    cached = _cache.get(app_id)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        settings = cached[1]
        return settings if settings.project_id == project_id else None
    async with sessions() as session:
        app = await repository.get(session, project_id, app_id)
    if app is None:
        return None
    settings = snapshot(app)
    _cache[app_id] = (now + TTL, settings)
    return settings


async def app_by_id(session: AsyncSession, app_id: str) -> App | None:
    """The app, whatever its project, as read at most `TTL` seconds ago: a copy that belongs
    to no session, to read and never to change (changes go through `apps.service`)."""
    cached = _apps.get(app_id)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    app = await repository.by_id(session, app_id)
    if app is None:
        return None
    copy = App(**{key: getattr(app, key) for key in _COLUMNS})
    _apps[app_id] = (now + TTL, copy)
    return copy


async def app_in_project(session: AsyncSession, project_id: str, app_id: str) -> App | None:
    app = await app_by_id(session, app_id)
    return app if app is not None and app.project_id == project_id else None


def forget(app_id: str) -> None:
    _cache.pop(app_id, None)
    _apps.pop(app_id, None)
