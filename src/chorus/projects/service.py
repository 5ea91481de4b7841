"""Projects and access keys: creation (CLI, bootstrap, first start) and lookup (auth)."""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.models import AccessKey, Project


@dataclass(frozen=True)
class Credentials:
    project_id: str
    key_id: str
    key_secret: str

    def as_dict(self) -> dict[str, str]:
        return {"project_id": self.project_id, "key_id": self.key_id, "key_secret": self.key_secret}


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), secret_hash)


async def create_project(
    session: AsyncSession, name: str, project_id: str | None = None
) -> Project:
    project = Project(id=project_id or str(uuid.uuid4()), name=name)
    session.add(project)
    await session.flush()
    return project


async def create_key(
    session: AsyncSession, project_id: str, key_id: str | None = None, key_secret: str | None = None
) -> Credentials:
    key_id = key_id or str(uuid.uuid4())
    key_secret = key_secret or secrets.token_urlsafe(32)
    session.add(AccessKey(id=key_id, project_id=project_id, secret_hash=hash_secret(key_secret)))
    await session.flush()
    return Credentials(project_id, key_id, key_secret)


async def get_project(session: AsyncSession, project_id: str) -> Project | None:
    return await session.get(Project, project_id)


async def get_key(session: AsyncSession, key_id: str) -> AccessKey | None:
    return await session.get(AccessKey, key_id)


async def list_projects(session: AsyncSession) -> list[tuple[Project, int]]:
    """Every project, oldest first, with how many access keys it has."""
    keys = (
        select(AccessKey.project_id, func.count().label("keys"))
        .group_by(AccessKey.project_id)
        .subquery()
    )
    rows = await session.execute(
        select(Project, func.coalesce(keys.c["keys"], 0))
        .outerjoin(keys, keys.c.project_id == Project.id)
        .order_by(Project.created_at, Project.id)
    )
    return [(project, count) for project, count in rows.all()]


async def list_keys(session: AsyncSession, project_id: str) -> list[AccessKey]:
    """The project's access keys (never their secrets, which are kept only hashed)."""
    result = await session.scalars(
        select(AccessKey)
        .where(AccessKey.project_id == project_id)
        .order_by(AccessKey.created_at, AccessKey.id)
    )
    return list(result.all())


async def revoke_key(session: AsyncSession, key_id: str) -> bool:
    """Delete the key: its Basic credentials and the tokens issued for it stop working
    (at once in new processes; running ones notice within `CHORUS_KEY_CACHE_SECONDS`)."""
    key = await get_key(session, key_id)
    if key is None:
        return False
    await session.delete(key)
    await session.flush()
    return True


async def count_projects(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Project)) or 0


async def ensure_bootstrap(
    session: AsyncSession, project_id: str, key_id: str, key_secret: str
) -> None:
    """Make sure the bootstrap project and key exist with that secret (idempotent)."""
    if await get_project(session, project_id) is None:
        await create_project(session, name=project_id, project_id=project_id)
    key = await get_key(session, key_id)
    if key is None:
        await create_key(session, project_id, key_id, key_secret)
    else:
        key.project_id = project_id
        key.secret_hash = hash_secret(key_secret)
        await session.flush()
