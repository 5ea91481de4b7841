"""What happens before a process serves: schema, shared secrets, bootstrap credentials."""

import logging
import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from chorus.apps import service as apps
from chorus.config import Settings
from chorus.kit.db import Database
from chorus.models import ServerSecret
from chorus.projects import service as projects
from chorus.retention import schedule_sweep
from chorus.runtime import Runtime
from chorus.store import migrate

SIGNING_KEY = "token_signing_key"
log = logging.getLogger("chorus.startup")


@dataclass(frozen=True)
class Prepared:
    signing_key: str
    dev_credentials: projects.Credentials | None  # created just now, to be shown once


async def signing_key(db: Database, settings: Settings) -> str:
    """The configured key, or the one this database keeps (created by the first process)."""
    if settings.token_signing_key:
        return settings.token_signing_key
    async with db.write_sessions() as session:
        stored = await session.get(ServerSecret, SIGNING_KEY)
        if stored is not None:
            return stored.value
        session.add(ServerSecret(name=SIGNING_KEY, value=secrets.token_urlsafe(48)))
        try:
            await session.commit()
        except IntegrityError:  # another process won the race; use its key
            await session.rollback()
        stored = await session.get(ServerSecret, SIGNING_KEY)
        assert stored is not None
        return stored.value


async def bootstrap(
    db: Database, settings: Settings, *, create_dev: bool
) -> projects.Credentials | None:
    """Ensure the bootstrap project and key when configured; otherwise, on an empty
    database and when asked, create a dev project whose credentials are returned once."""
    async with db.write_sessions() as session:
        if (
            settings.bootstrap_project_id
            and settings.bootstrap_key_id
            and settings.bootstrap_key_secret
        ):
            await projects.ensure_bootstrap(
                session,
                settings.bootstrap_project_id,
                settings.bootstrap_key_id,
                settings.bootstrap_key_secret,
            )
            await session.commit()
            return None
        if not create_dev or await projects.count_projects(session) > 0:
            return None
        project = await projects.create_project(session, name="dev")
        credentials = await projects.create_key(session, project.id)
        await session.commit()
        return credentials


async def prepare(db: Database, settings: Settings, *, create_dev: bool = False) -> Prepared:
    await migrate(db.write_engine)
    dev = await bootstrap(db, settings, create_dev=create_dev)
    async with db.write_sessions() as session:
        await schedule_sweep(session, settings.retention_sweep_seconds)
        await session.commit()
    return Prepared(signing_key=await signing_key(db, settings), dev_credentials=dev)


async def follow_inbound_urls(db: Database, runtime: Runtime) -> None:
    """Channels that were given chorus's webhook URL (Viber Bot) are given it again when this
    server's public base URL differs from the one they know."""
    async with db.write_sessions() as session:
        queued = await apps.follow_inbound_urls(session, runtime.inbound_url)
        await session.commit()
    if queued:
        url = runtime.settings.base_url
        log.warning("registering %d channel webhooks again at %s", queued, url)
