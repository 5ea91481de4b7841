"""Test fixtures: a real chorus server over HTTP, on SQLite and (when
CHORUS_TEST_DATABASE_URL is set) on PostgreSQL. Every test that uses `server` runs once per
database."""

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sinch import SinchClient

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("CHORUS_TEST_DATABASE_URL") else [])


@dataclass
class Credentials:
    project_id: str
    key_id: str
    key_secret: str


@dataclass
class Server:
    url: str
    backend: str
    database_url: str  # synchronous SQLAlchemy URL, for inspecting what the server stored
    project_id: str
    key_id: str
    key_secret: str
    other: Credentials  # a second project, for cross-project checks
    process: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict)
    _engine: sa.Engine | None = None

    def query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        if self._engine is None:
            self._engine = sa.create_engine(self.database_url)
        with self._engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(sa.text(sql), params)]

    def recorded_callbacks(self, app_id: str) -> list[dict[str, Any]]:
        """Callbacks fanned out to the app's webhooks (a DISMISS webhook records them without
        sending), as `{"trigger", **body}`, in the order the occurrences happened."""
        rows = self.query(
            "SELECT trigger, body FROM callback_deliveries WHERE app_id = :a", a=app_id
        )
        callbacks = [{"trigger": r["trigger"], **json.loads(r["body"])} for r in rows]
        return sorted(callbacks, key=lambda c: c["accepted_time"])

    def client(self, credentials: Credentials | None = None, prefix: str = "/v1") -> httpx.Client:
        creds = credentials or Credentials(self.project_id, self.key_id, self.key_secret)
        return httpx.Client(
            base_url=f"{self.url}{prefix}/projects/{creds.project_id}",
            auth=(creds.key_id, creds.key_secret),
            timeout=30,
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chorus(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "chorus", *args], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


async def _create_database(admin_url: str, name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _drop_database(admin_url: str, name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@contextmanager
def fresh_database(backend: str, scratch: Path) -> Iterator[tuple[str, str]]:
    """(chorus URL, synchronous URL) of a new, empty database, dropped afterwards."""
    if backend == "sqlite":
        path = scratch / "chorus.db"
        yield f"sqlite:///{path}", f"sqlite:///{path}"
        return
    admin_url = os.environ["CHORUS_TEST_DATABASE_URL"].replace(
        "postgresql+asyncpg://", "postgresql://"
    )
    name = f"chorus_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_create_database(admin_url, name))
    url = f"{admin_url.rpartition('/')[0]}/{name}"
    try:
        yield url, url.replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        asyncio.run(_drop_database(admin_url, name))


def start_server(
    database_url: str, data_dir: Path, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    port = free_port()
    env = {
        **os.environ,
        "CHORUS_DATABASE_URL": database_url,
        "CHORUS_DATA_DIR": str(data_dir),
        "CHORUS_PORT": str(port),
        **(extra_env or {}),
    }
    log = open(data_dir / f"server-{port}.log", "wb")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(
        [sys.executable, "-m", "chorus", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"chorus exited early: {(data_dir / f'server-{port}.log').read_text()}"
            )
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url, env
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("chorus did not become ready within 60 s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def production_server() -> Iterator[str]:
    """The URL of a server in the production profile (the simulator off: no local sign-in)."""
    data_dir = Path(tempfile.mkdtemp(prefix="chorus-prod-"))
    process, url, _ = start_server(
        f"sqlite:///{data_dir / 'chorus.db'}", data_dir, {"CHORUS_SIMULATOR": "off"}
    )
    try:
        yield url
    finally:
        stop_server(process)


@pytest.fixture(scope="session", params=BACKENDS)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    backend = request.param
    data_dir = Path(tempfile.mkdtemp(prefix=f"chorus-{backend}-"))
    main = Credentials(
        f"proj-{uuid.uuid4().hex[:8]}", f"key-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    )
    with fresh_database(backend, data_dir) as (database_url, sync_url):
        process, url, env = start_server(
            database_url,
            data_dir,
            {
                "CHORUS_BOOTSTRAP_PROJECT_ID": main.project_id,
                "CHORUS_BOOTSTRAP_KEY_ID": main.key_id,
                "CHORUS_BOOTSTRAP_KEY_SECRET": main.key_secret,
            },
        )
        other = Credentials(
            **json.loads(chorus("project", "create", "--name", "other", "--json", env=env))
        )
        instance = Server(
            url,
            backend,
            sync_url,
            main.project_id,
            main.key_id,
            main.key_secret,
            other,
            process,
            env,
        )
        try:
            yield instance
        finally:
            stop_server(process)
            if instance._engine is not None:
                instance._engine.dispose()


@pytest.fixture
def api(server: Server) -> Iterator[httpx.Client]:
    """An HTTP client on the test project's API, authenticated with HTTP Basic."""
    with server.client() as client:
        yield client


@pytest.fixture
def sinch(server: Server) -> SinchClient:
    """The official Python SDK on the test project, pointed at the server."""
    client = SinchClient(
        project_id=server.project_id,
        key_id=server.key_id,
        key_secret=server.key_secret,
        conversation_region="eu",
    )
    client.configuration.auth_origin = server.url
    client.configuration.conversation_domain = server.url
    return client
