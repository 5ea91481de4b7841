"""Deployment settings, read from `CHORUS_*` environment variables (and CLI options)."""

from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DATABASE_SCHEMES = (
    "postgres://",
    "postgresql://",
    "postgresql+asyncpg://",
    "postgresql+psycopg://",
    "sqlite:///",
    "sqlite+aiosqlite:///",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHORUS_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path(".chorus")
    database_url: str | None = None
    # How long a starting process waits for a database that does not answer yet (a server
    # started beside its database), before it gives up.
    database_wait_seconds: float = Field(default=30.0, ge=0)

    # Logs on stderr (`logs.py`).
    log_level: Literal["debug", "info", "warning", "error"] = "warning"
    log_format: Literal["text", "json"] = "text"
    access_log: bool = False

    bootstrap_project_id: str | None = None
    bootstrap_key_id: str | None = None
    bootstrap_key_secret: str | None = None

    # Signing key for access tokens; generated and kept in the database when unset,
    # so every process sharing a database accepts every other process's tokens.
    token_signing_key: str | None = None
    token_ttl_seconds: int = Field(default=3600, ge=60)

    webhooks_per_app: int = Field(default=5, ge=1)
    # A request body past this is refused (413) before any of it is kept in memory whole.
    max_request_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)

    # Local mode: the channel simulator is mounted and the connectors point at it.
    # CHORUS_SIMULATOR=off is the production profile.
    simulator: bool = True
    # The externally reachable base URL (channel callbacks, printed URLs).
    public_base_url: str | None = None
    # Where each connector sends; by default the simulator in local mode, else production.
    sms_base_url: str | None = None
    whatsapp_base_url: str | None = None
    rcs_base_url: str | None = None
    messenger_base_url: str | None = None
    viberbm_base_url: str | None = None
    viber_base_url: str | None = None

    # Workers run inside `chorus serve` unless turned off (then run `chorus worker`).
    run_workers: bool = True
    worker_concurrency: int = Field(default=32, ge=1)
    # PostgreSQL connections a process keeps open, and never more (`kit.db.connect`): the
    # worker's jobs and the API's requests take turns on them.
    database_pool_size: int = Field(default=10, ge=1)
    # `chorus worker` serves /healthz, /readyz and /metrics here when a port is given.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=1, le=65535)

    # Rate limits (API.md Decision 9). Below one request a second a project could never
    # make one (its bucket would never hold a whole request).
    project_request_rate: float = Field(default=800.0, ge=1)
    app_queue_limit: int = Field(default=500_000, ge=1)

    # How long a process keeps an access key it has checked: a revoked key (and its
    # tokens) may work that long in processes that had seen it.
    key_cache_seconds: float = Field(default=30.0, ge=0)

    # Multiplies every callback retry delay (tests shrink the 28-hour schedule).
    callback_retry_scale: float = Field(default=1.0, ge=0)
    # Multiplies how long a channel API that stopped answering rests (`kit/breaker.py`).
    channel_rest_scale: float = Field(default=1.0, ge=0)
    retention_sweep_seconds: float = Field(default=600.0, gt=0)

    # Seconds RCS keeps trying to deliver before chorus revokes the message and falls back
    # (CHANNELS.md §3.3); none by default. Read as `<channel>_delivery_timeout`.
    rcs_delivery_timeout: float | None = Field(default=None, gt=0)

    enforce_sending_windows: bool = True
    sms_stop_keywords: bool = True

    @field_validator("database_url")
    @classmethod
    def _a_database_chorus_speaks(cls, value: str | None) -> str | None:
        if value and not value.startswith(DATABASE_SCHEMES):
            raise ValueError(
                "must be a PostgreSQL URL (postgresql://user:password@host:5432/database) "
                "or a SQLite one (sqlite:////path/to/chorus.db)"
            )
        return value

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address
        return (self.public_base_url or f"http://{host}:{self.port}").rstrip("/")

    @cached_property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy async URL: the embedded SQLite file unless a URL was given."""
        if not self.database_url:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'chorus.db').resolve()}"
        return async_database_url(self.database_url)


def async_database_url(url: str) -> str:
    """Accept the usual spellings (`postgres://`, `postgresql://`, `sqlite:///`) and pick
    the async driver chorus uses for each. libpq's `sslmode` (as hosted databases hand out
    URLs: `?sslmode=require`) becomes asyncpg's `ssl`, which takes the same modes."""
    for prefix, replacement in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgresql+psycopg://", "postgresql+asyncpg://"),
        ("sqlite:///", "sqlite+aiosqlite:///"),
    ):
        if url.startswith(prefix):
            url = replacement + url[len(prefix) :]
            break
    if url.startswith("postgresql+asyncpg://"):
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        names = {name for name, _ in query}
        if "sslmode" in names and "ssl" not in names:
            query = [("ssl" if name == "sslmode" else name, value) for name, value in query]
            url = urlunsplit(parts._replace(query=urlencode(query)))
    return url
