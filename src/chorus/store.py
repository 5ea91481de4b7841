"""Schema management: Alembic migrations, applied on start and by `chorus migrate`."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Upgrade to the newest schema. Processes that start together (replicas of a release)
    take turns: on PostgreSQL an advisory lock held until the migration's transaction ends
    (the next one then finds the schema current); SQLite's writers queue anyway."""
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"),
                {"name": "chorus:migrations"},
            )
        await connection.run_sync(_upgrade)


def _is_current(connection: Connection) -> bool:
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    return set(MigrationContext.configure(connection).get_current_heads()) == heads


async def schema_is_current(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        return await connection.run_sync(_is_current)
