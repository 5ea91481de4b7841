"""A short-lived, per-process cache of app settings for the send path.

`messages:send` needs an app's mode and channels on every request; reading the row each time
costs more than the rest of the request. Entries live `TTL` seconds, and this process
forgets an app at once when it updates or deletes it; another process sharing the database
sees such a change within `TTL` (an app deleted meanwhile fails its messages with
UNKNOWN_APP at dispatch).
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


def forget(app_id: str) -> None:
    _cache.pop(app_id, None)
