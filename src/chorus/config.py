"""Deployment settings, read from `CHORUS_*` environment variables (and CLI options)."""

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHORUS_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path(".chorus")
    database_url: str | None = None

    bootstrap_project_id: str | None = None
    bootstrap_key_id: str | None = None
    bootstrap_key_secret: str | None = None

    # Signing key for access tokens; generated and kept in the database when unset,
    # so every process sharing a database accepts every other process's tokens.
    token_signing_key: str | None = None
    token_ttl_seconds: int = Field(default=3600, ge=60)

    webhooks_per_app: int = Field(default=5, ge=1)

    @cached_property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy async URL: the embedded SQLite file unless a URL was given."""
        if not self.database_url:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'chorus.db').resolve()}"
        return async_database_url(self.database_url)


def async_database_url(url: str) -> str:
    """Accept the usual spellings (`postgres://`, `postgresql://`, `sqlite:///`) and pick
    the async driver chorus uses for each."""
    for prefix, replacement in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgresql+psycopg://", "postgresql+asyncpg://"),
        ("sqlite:///", "sqlite+aiosqlite:///"),
    ):
        if url.startswith(prefix):
            return replacement + url[len(prefix) :]
    return url
