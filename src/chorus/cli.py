"""The `chorus` command (DESIGN.md, "Interfaces that scripts rely on")."""

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.config import Settings
from chorus.kit.clock import rfc3339
from chorus.kit.db import Database, DatabaseUnusable, connect, wait_for_database
from chorus.logs import configure as configure_logs
from chorus.logs import log_config
from chorus.outbox import service as outbox
from chorus.projects import service as projects
from chorus.store import migrate as run_migrations

log = logging.getLogger("chorus.cli")

cli = typer.Typer(help="chorus: a self-hosted Conversation API.", no_args_is_help=True)
project_cli = typer.Typer(help="Projects.", no_args_is_help=True)
key_cli = typer.Typer(help="Access keys.", no_args_is_help=True)
jobs_cli = typer.Typer(
    help="Outbox jobs: list them; retry or drop the ones given up (dead).", no_args_is_help=True
)
T = TypeVar("T")
cli.add_typer(project_cli, name="project")
cli.add_typer(key_cli, name="key")
cli.add_typer(jobs_cli, name="jobs")

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="CHORUS_DATABASE_URL",
        help="SQLAlchemy URL; SQLite under the data dir when unset.",
    ),
]
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="CHORUS_DATA_DIR",
        help="Where the embedded SQLite database lives (default ./.chorus).",
    ),
]


def settings_from(**options: Any) -> Settings:
    """Settings from the environment, with the command line's options on top; a value that
    is not valid stops the command with what is wrong, variable by variable."""
    try:
        return Settings(**{name: value for name, value in options.items() if value is not None})
    except ValidationError as exc:
        problems = [
            f"  CHORUS_{'_'.join(str(part) for part in error['loc']).upper()}: "
            f"{error['msg']} (got {error['input']!r})"
            for error in exc.errors()
        ]
        _refuse("chorus: settings that are not valid:\n" + "\n".join(problems))


async def _prepared_db(settings: Settings) -> Database:
    """The process's database, reachable (`wait_for_database`) and migrated."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # a file in the way, no permission: said, not a traceback
        raise DatabaseUnusable(
            f"the data directory {settings.data_dir}: {error.strerror or error}"
        ) from error
    db = connect(settings.resolved_database_url, pool_size=settings.database_pool_size)
    try:
        await wait_for_database(db.write_engine, settings.database_wait_seconds, log)
        await run_migrations(db.write_engine)
    except BaseException:
        await db.dispose()
        raise
    return db


async def _check_database(settings: Settings) -> None:
    db = await _prepared_db(settings)
    await db.dispose()


def _refuse_unusable(error: DatabaseUnusable) -> NoReturn:
    _refuse(f"chorus: cannot use {error}")


def _with_db(
    database_url: str | None, data_dir: Path | None, work: Callable[[Database], Awaitable[T]]
) -> T:
    """Run an administrative command's `work` on the (migrated) database, then close it."""

    async def run() -> T:
        db = await _prepared_db(settings_from(database_url=database_url, data_dir=data_dir))
        try:
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except DatabaseUnusable as error:
        _refuse_unusable(error)


@cli.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(envvar="CHORUS_HOST", help="Interface to listen on (default 127.0.0.1)."),
    ] = None,
    port: Annotated[
        int | None, typer.Option(envvar="CHORUS_PORT", help="Port (default 8080).")
    ] = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Serve the API (migrations are applied first)."""
    import uvicorn

    from chorus.app import create_app

    settings = settings_from(host=host, port=port, database_url=database_url, data_dir=data_dir)
    configure_logs(settings)
    try:
        # Reachable and migrated before the server starts: what fails here is one line.
        asyncio.run(_check_database(settings))
    except DatabaseUnusable as error:
        _refuse_unusable(error)
    # The port is taken before the app starts, so a port in use stops `serve` before it
    # creates (and shows, once) the dev project's credentials.
    listening = _listen(settings.host, settings.port)
    config = uvicorn.Config(
        create_app(settings, announce=True),
        log_config=log_config(settings),
        access_log=settings.access_log,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[listening])
    if not server.started:
        raise typer.Exit(code=3)  # the app did not start (uvicorn logged why)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as error:
        _refuse(
            f"chorus: cannot listen on {host}:{port} (CHORUS_HOST, CHORUS_PORT): "
            f"{os.strerror(error.errno) if error.errno else error}"
        )


@cli.command()
def worker(
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            envvar="CHORUS_METRICS_PORT",
            help="Serve /healthz, /readyz and /metrics on this port (default: none).",
        ),
    ] = None,
    metrics_host: Annotated[
        str | None,
        typer.Option(
            envvar="CHORUS_METRICS_HOST",
            help="Interface of --metrics-port (default 127.0.0.1).",
        ),
    ] = None,
) -> None:
    """Run background workers only (scale-out: several processes can share PostgreSQL)."""
    import signal

    from chorus import rests
    from chorus.jobs import worker_for
    from chorus.probes import ProbesRefused, serving_probes
    from chorus.runtime import Runtime

    settings = settings_from(
        database_url=database_url,
        data_dir=data_dir,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
    )
    configure_logs(settings)

    async def run() -> None:
        db = await _prepared_db(settings)
        runtime = Runtime.create(settings, db)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        _announce_worker(settings, db.dialect)
        breakers = rests.roles(runtime)
        sharing = None
        try:
            await rests.share(db, breakers)
            sharing = asyncio.create_task(rests.keep_sharing(db, breakers, stop))
            async with contextlib.AsyncExitStack() as stack:
                if settings.metrics_port is not None:
                    await stack.enter_async_context(
                        serving_probes(runtime, settings.metrics_host, settings.metrics_port)
                    )
                await worker_for(runtime).run(stop)
        finally:
            stop.set()
            if sharing is not None:
                await sharing
            await runtime.aclose()
            await db.dispose()

    try:
        asyncio.run(run())
    except ProbesRefused as exc:
        _refuse(f"chorus worker: the probes {exc}")
    except DatabaseUnusable as error:
        _refuse_unusable(error)


def _announce_worker(settings: Settings, dialect: str) -> None:
    where = (
        f"; probes on http://{settings.metrics_host}:{settings.metrics_port}"
        if settings.metrics_port is not None
        else ""
    )
    typer.echo(f"chorus worker running on {dialect}{where}", err=True)
    if dialect == "sqlite":
        typer.echo(
            "note: `chorus serve` already runs the workers on SQLite; a worker process "
            "beside it takes turns at the file's one write lock and scales little "
            "(README, Scale-out). Use PostgreSQL to scale out.",
            err=True,
        )


@cli.command()
def migrate(database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """Apply database migrations."""

    async def nothing_more(_db: Database) -> None:
        return None

    _with_db(database_url, data_dir, nothing_more)
    typer.echo("migrations applied")


def _print_credentials(credentials: projects.Credentials, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(credentials.as_dict()))
    else:
        for name, value in credentials.as_dict().items():
            typer.echo(f"{name}: {value}")


@project_cli.command("create")
def project_create(
    name: Annotated[str, typer.Option("--name", help="Project name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Create a project and its first access key; the secret is shown only now."""

    async def work(db: Database) -> projects.Credentials:
        async with db.write_sessions() as session:
            project = await projects.create_project(session, name=name)
            credentials = await projects.create_key(session, project.id)
            await session.commit()
            return credentials

    _print_credentials(_with_db(database_url, data_dir, work), as_json)


@project_cli.command("list")
def project_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """List projects with how many access keys each has."""

    async def work(db: Database) -> list[dict[str, Any]]:
        async with db.read_sessions() as session:
            return [
                {
                    "project_id": project.id,
                    "name": project.name,
                    "created_at": rfc3339(project.created_at),
                    "keys": keys,
                }
                for project, keys in await projects.list_projects(session)
            ]

    _print_rows(_with_db(database_url, data_dir, work), as_json)


@key_cli.command("create")
def key_create(
    project: Annotated[str, typer.Option("--project", help="Project id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Create an access key for a project; the secret is shown only now."""

    async def work(db: Database) -> projects.Credentials | None:
        async with db.write_sessions() as session:
            if await projects.get_project(session, project) is None:
                return None
            credentials = await projects.create_key(session, project)
            await session.commit()
            return credentials

    credentials = _with_db(database_url, data_dir, work)
    if credentials is None:
        _refuse(f"no project {project}")
    _print_credentials(credentials, as_json)


@key_cli.command("list")
def key_list(
    project: Annotated[str, typer.Option("--project", help="Project id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """List a project's access keys (ids and creation times: secrets are never stored)."""

    async def work(db: Database) -> list[dict[str, Any]] | None:
        async with db.read_sessions() as session:
            if await projects.get_project(session, project) is None:
                return None
            return [
                {"key_id": key.id, "created_at": rfc3339(key.created_at)}
                for key in await projects.list_keys(session, project)
            ]

    rows = _with_db(database_url, data_dir, work)
    if rows is None:
        _refuse(f"no project {project}")
    _print_rows(rows, as_json)


@key_cli.command("revoke")
def key_revoke(
    key_id: Annotated[str, typer.Argument(help="The access key's id.")],
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Revoke an access key: its credentials and the tokens issued for it stop working
    (in running servers within CHORUS_KEY_CACHE_SECONDS, 30 s by default)."""

    async def work(db: Database) -> bool:
        async with db.write_sessions() as session:
            revoked = await projects.revoke_key(session, key_id)
            await session.commit()
            return revoked

    if not _with_db(database_url, data_dir, work):
        _refuse(f"no access key {key_id}")
    typer.echo(f"revoked {key_id}")


ERROR_CHARS = 120  # of a job's last error, in the text listing (--json has all of it)


@jobs_cli.command("list")
def jobs_list(
    status: Annotated[
        str | None, typer.Option("--status", help="pending, running or dead.")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only jobs of this kind.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """List outbox jobs, oldest first: id, kind, status, attempts, created, last error."""
    if status is not None and status not in outbox.STATUSES:
        _refuse(f"--status must be one of {', '.join(outbox.STATUSES)}, not {status!r}")

    async def work(db: Database) -> list[dict[str, Any]]:
        async with db.read_sessions() as session:
            jobs = await outbox.list_jobs(session, status=status, kind=kind, limit=limit)
            return [
                {
                    "id": job.id,
                    "kind": job.kind,
                    "status": job.status,
                    "attempts": job.attempts,
                    "created_at": rfc3339(job.created_at),
                    "last_error": job.last_error,
                }
                for job in jobs
            ]

    rows = _with_db(database_url, data_dir, work)
    if not as_json:
        for row in rows:
            lines = (row["last_error"] or "").strip().splitlines()
            row["last_error"] = lines[0][:ERROR_CHARS] if lines else "-"
    _print_rows(rows, as_json)


JobIds = Annotated[list[int] | None, typer.Argument(help="Ids of dead jobs (chorus jobs list).")]
AllDead = Annotated[bool, typer.Option("--all", help="Every dead job (of --kind, if given).")]
DeadKind = Annotated[str | None, typer.Option("--kind", help="Only dead jobs of this kind.")]


DeadJobsChange = Callable[[AsyncSession, list[int] | None, str | None], Awaitable[int]]


def _change_dead(
    change: DeadJobsChange,
    ids: list[int] | None,
    every: bool,
    kind: str | None,
    database_url: str | None,
    data_dir: Path | None,
) -> int:
    """Apply `change` (retry or drop) to the dead jobs named by id, or to every one (of
    `kind`) with --all; one of the two is required. How many it changed."""
    if bool(ids) == every:
        _refuse("name dead jobs by id, or give --all (not both)")
    selected = None if every else ids

    async def work(db: Database) -> int:
        async with db.write_sessions() as session:
            count = await change(session, selected, kind)
            await session.commit()
            return count

    return _with_db(database_url, data_dir, work)


@jobs_cli.command("retry")
def jobs_retry(
    ids: JobIds = None,
    every: AllDead = False,
    kind: DeadKind = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Run dead jobs again from a first attempt; jobs that are not dead are left alone."""
    count = _change_dead(outbox.retry_dead, ids, every, kind, database_url, data_dir)
    typer.echo(f"{count} dead jobs queued again")


@jobs_cli.command("drop")
def jobs_drop(
    ids: JobIds = None,
    every: AllDead = False,
    kind: DeadKind = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Delete dead jobs for good; jobs that are not dead are left alone."""
    count = _change_dead(outbox.drop_dead, ids, every, kind, database_url, data_dir)
    typer.echo(f"{count} dead jobs dropped")


def _refuse(message: str) -> NoReturn:
    """An administrative command that cannot do what was asked: say why, exit 1."""
    typer.echo(message, err=True)
    raise typer.Exit(code=1)


def _print_rows(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(rows))
    else:
        for row in rows:
            typer.echo("  ".join(str(value) for value in row.values()))


def main() -> None:
    cli()
