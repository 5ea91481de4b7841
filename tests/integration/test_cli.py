"""The command line and the bootstrap interfaces of DESIGN.md."""

import json
import os
import socket
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy

from chorus.kit.clock import utcnow
from chorus.models import OutboxJob
from tests.conftest import (
    BACKENDS,
    Credentials,
    chorus,
    free_port,
    fresh_database,
    start_server,
    stop_server,
)
from tests.integration.reliability_helpers import poll
from tests.integration.tcp_proxy import TcpProxy


def works(url: str, credentials: Credentials) -> bool:
    response = httpx.get(
        f"{url}/v1/projects/{credentials.project_id}/apps",
        auth=(credentials.key_id, credentials.key_secret),
    )
    return response.status_code == 200


def test_project_and_key_create_print_working_credentials(server) -> None:
    created = json.loads(chorus("project", "create", "--name", "cli", "--json", env=server.env))
    assert set(created) == {"project_id", "key_id", "key_secret"}
    assert works(server.url, Credentials(**created))
    key = json.loads(
        chorus("key", "create", "--project", created["project_id"], "--json", env=server.env)
    )
    assert key["project_id"] == created["project_id"] and key["key_id"] != created["key_id"]
    assert works(server.url, Credentials(**key))
    # Secrets are stored hashed, never as given.
    stored = server.query("SELECT secret_hash FROM access_keys WHERE id = :k", k=key["key_id"])
    assert stored and key["key_secret"] not in stored[0]["secret_hash"]


def test_key_create_for_an_unknown_project_fails(server) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chorus", "key", "create", "--project", "nope", "--json"],
        env=server.env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "no project nope" in result.stderr


def test_first_serve_creates_a_dev_project_and_shows_it_once(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'chorus.db'}"
    process, url, _ = start_server(database, tmp_path)
    stop_server(process)
    first_log = next(tmp_path.glob("server-*.log")).read_text()
    assert "key_secret:" in first_log
    fields = {
        name.strip(): value.strip()
        for name, _, value in (line.partition(":") for line in first_log.splitlines())
        if name.startswith("  ")
    }
    dev = Credentials(fields["project_id"], fields["key_id"], fields["key_secret"])
    for log in tmp_path.glob("server-*.log"):
        log.unlink()
    process, url, _ = start_server(database, tmp_path)
    try:
        assert works(url, dev)
    finally:
        stop_server(process)
    assert "key_secret" not in next(tmp_path.glob("server-*.log")).read_text()


def test_a_port_in_use_stops_serve_before_it_creates_the_dev_project(tmp_path: Path) -> None:
    """The credentials are shown only once: not to a server that cannot listen."""
    taken = socket.create_server(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    env = {**os.environ, "CHORUS_DATA_DIR": str(tmp_path), "CHORUS_PORT": str(port)}
    try:
        result = subprocess.run(
            [sys.executable, "-m", "chorus", "serve"], env=env, capture_output=True, text=True
        )
    finally:
        taken.close()
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == (
        f"chorus: cannot listen on 127.0.0.1:{port} (CHORUS_HOST, CHORUS_PORT): "
        "Address already in use"
    )
    assert "key_secret" not in result.stdout
    assert json.loads(chorus("project", "list", "--json", env=env)) == []


def test_bootstrap_variables_are_idempotent(tmp_path: Path) -> None:
    credentials = Credentials(f"boot-{uuid.uuid4().hex[:6]}", "boot-key", "boot-secret")
    env = {
        "CHORUS_BOOTSTRAP_PROJECT_ID": credentials.project_id,
        "CHORUS_BOOTSTRAP_KEY_ID": credentials.key_id,
        "CHORUS_BOOTSTRAP_KEY_SECRET": credentials.key_secret,
    }
    database = f"sqlite:///{tmp_path / 'chorus.db'}"
    for _ in range(2):
        process, url, _ = start_server(database, tmp_path, env)
        try:
            assert works(url, credentials)
        finally:
            stop_server(process)
    for log in tmp_path.glob("server-*.log"):
        assert "key_secret" not in log.read_text()


def test_migrate_prepares_an_empty_database(tmp_path: Path) -> None:
    env = {"CHORUS_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}", "PATH": ""}
    output = chorus("migrate", env={**env, "CHORUS_DATA_DIR": str(tmp_path)})
    assert "migrations applied" in output


def test_keys_are_listed_and_a_revoked_key_and_its_tokens_stop_working(tmp_path: Path) -> None:
    """`CHORUS_KEY_CACHE_SECONDS=0`: the server checks keys on every call, so revocation
    shows at once (by default a running server notices within 30 s)."""
    database = f"sqlite:///{tmp_path / 'chorus.db'}"
    process, url, env = start_server(database, tmp_path, {"CHORUS_KEY_CACHE_SECONDS": "0"})
    try:
        first = json.loads(chorus("project", "create", "--name", "shop", "--json", env=env))
        project = first["project_id"]
        second = json.loads(chorus("key", "create", "--project", project, "--json", env=env))
        listed = json.loads(chorus("key", "list", "--project", project, "--json", env=env))
        assert [k["key_id"] for k in listed] == [first["key_id"], second["key_id"]]
        assert all(set(k) == {"key_id", "created_at"} for k in listed)  # never a secret
        projects = json.loads(chorus("project", "list", "--json", env=env))
        assert {"project_id": project, "name": "shop", "keys": 2} in [
            {k: p[k] for k in ("project_id", "name", "keys")} for p in projects
        ]

        token = httpx.post(
            f"{url}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(second["key_id"], second["key_secret"]),
        ).json()["access_token"]
        apps = f"{url}/v1/projects/{project}/apps"
        assert httpx.get(apps, headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert works(url, Credentials(**second))

        assert chorus("key", "revoke", second["key_id"], env=env).strip() == (
            f"revoked {second['key_id']}"
        )
        assert not works(url, Credentials(**second))
        refused = httpx.get(apps, headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 401
        assert "revoked" in refused.json()["error"]["message"]
        assert works(url, Credentials(**first))  # the project's other key is untouched
        listed = json.loads(chorus("key", "list", "--project", project, "--json", env=env))
        assert [k["key_id"] for k in listed] == [first["key_id"]]

        again = subprocess.run(
            [sys.executable, "-m", "chorus", "key", "revoke", second["key_id"]],
            env=env,
            capture_output=True,
            text=True,
        )
        assert again.returncode == 1 and f"no access key {second['key_id']}" in again.stderr
    finally:
        stop_server(process)


def test_json_logs_with_an_access_log_that_keeps_tokens_out(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'chorus.db'}"
    env = {"CHORUS_LOG_LEVEL": "info", "CHORUS_LOG_FORMAT": "json", "CHORUS_ACCESS_LOG": "true"}
    process, url, _ = start_server(database, tmp_path, env)
    try:
        assert httpx.get(f"{url}/healthz", params={"access_token": "t0k3n-v4lue"}).is_success
    finally:
        stop_server(process)
    log = (tmp_path / f"server-{url.rpartition(':')[2]}.log").read_text()
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert {e["logger"] for e in entries} >= {"uvicorn.error", "uvicorn.access"}
    access = [e for e in entries if e["logger"] == "uvicorn.access"]
    assert [(e["method"], e["path"], e["status"]) for e in access if "healthz" in e["path"]] == [
        ("GET", "/healthz?access_token=[redacted]", 200)
    ]
    assert "t0k3n-v4lue" not in log


@pytest.mark.parametrize("backend", BACKENDS)
def test_processes_starting_together_migrate_one_at_a_time(backend: str, tmp_path: Path) -> None:
    """Replicas of a release start at once on a fresh database: each applies the migrations
    or finds them applied, none fails on the others' half-made schema."""
    with fresh_database(backend, tmp_path) as (url, _):
        env = {**os.environ, "CHORUS_DATABASE_URL": url, "CHORUS_DATA_DIR": str(tmp_path)}
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "chorus", "migrate"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for _ in range(4)
        ]
        outputs = [process.communicate(timeout=120)[0].decode() for process in processes]
        assert [process.returncode for process in processes] == [0] * 4, "\n".join(outputs)
        current = json.loads(chorus("project", "create", "--name", "after", "--json", env=env))
        assert current["project_id"]


def test_settings_that_are_not_valid_stop_the_command_with_what_is_wrong(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CHORUS_DATA_DIR": str(tmp_path),
        "CHORUS_LOG_LEVEL": "verbose",
        "CHORUS_WORKER_CONCURRENCY": "0",
        "CHORUS_DATABASE_URL": "mysql://root@127.0.0.1/chorus",
    }
    for command in (["serve"], ["worker"], ["migrate"]):
        result = subprocess.run(
            [sys.executable, "-m", "chorus", *command], env=env, capture_output=True, text=True
        )
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert "CHORUS_LOG_LEVEL: Input should be 'debug', 'info', 'warning' or 'error'" in (
            result.stderr
        )
        assert "CHORUS_WORKER_CONCURRENCY: Input should be greater than or equal to 1" in (
            result.stderr
        )
        assert "CHORUS_DATABASE_URL: Value error, must be a PostgreSQL URL" in result.stderr


def test_a_database_that_does_not_answer_stops_the_command_with_one_line(tmp_path: Path) -> None:
    """Waited for (CHORUS_DATABASE_WAIT_SECONDS), a line in the log every second, then one
    line that says which database (its password hidden) and why; exit 1, no traceback."""
    proxy = TcpProxy("127.0.0.1", 9)  # refuses every connection while cut
    proxy.cut()
    env = {
        **os.environ,
        "CHORUS_DATA_DIR": str(tmp_path),
        "CHORUS_DATABASE_URL": f"postgresql://chorus:s3cret@127.0.0.1:{proxy.port}/chorus",
        "CHORUS_DATABASE_WAIT_SECONDS": "1",
    }
    try:
        for command in (["serve"], ["worker"], ["migrate"], ["project", "list"]):
            result = subprocess.run(
                [sys.executable, "-m", "chorus", *command], env=env, capture_output=True, text=True
            )
            assert result.returncode == 1, result.stderr
            assert "Traceback" not in result.stderr and "s3cret" not in result.stderr
            where = f"the database at postgresql://chorus:***@127.0.0.1:{proxy.port}/chorus"
            assert f"{where} does not answer yet" in result.stderr
            assert (
                result.stderr.strip().splitlines()[-1].startswith(f"chorus: cannot use {where}: ")
            )
    finally:
        proxy.close()


def test_a_data_dir_that_cannot_be_made_stops_the_command_with_one_line(tmp_path: Path) -> None:
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("")
    env = {**os.environ, "CHORUS_DATA_DIR": str(in_the_way / "data")}
    env.pop("CHORUS_DATABASE_URL", None)
    for command in (["serve"], ["worker"], ["migrate"], ["project", "list"]):
        result = subprocess.run(
            [sys.executable, "-m", "chorus", *command], env=env, capture_output=True, text=True
        )
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines()[-1] == (
            f"chorus: cannot use the data directory {in_the_way / 'data'}: Not a directory"
        )


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs CHORUS_TEST_DATABASE_URL")
def test_serve_waits_for_a_database_that_answers_later(tmp_path: Path) -> None:
    """A server started beside its database (containers started together) waits for it."""
    with fresh_database("postgresql", tmp_path) as (url, _):
        target = sqlalchemy.engine.make_url(url)
        proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
        proxy.cut()
        port = free_port()
        env = {
            **os.environ,
            "CHORUS_DATA_DIR": str(tmp_path),
            "CHORUS_PORT": str(port),
            "CHORUS_DATABASE_URL": target.set(port=proxy.port).render_as_string(False),
        }
        log = tmp_path / "serve.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "chorus", "serve"], env=env, stdout=output, stderr=output
            )
        try:
            poll(
                lambda: "does not answer yet" in log.read_text(),
                seconds=30,
                what="the server waiting for its database",
            )
            assert process.poll() is None
            proxy.restore()
            poll(
                lambda: _ready(f"http://127.0.0.1:{port}"),
                seconds=60,
                what="the server ready once its database answers",
            )
        finally:
            stop_server(process)
            proxy.close()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("backend", BACKENDS)
def test_dead_jobs_are_listed_retried_and_dropped(backend: str, tmp_path: Path) -> None:
    """`chorus jobs`: an operator sees the jobs given up, with their last error, runs some
    again (the running server's workers take them), and drops the rest; live jobs are never
    touched. Jobs die after twelve failures hours apart, so these are written dead."""
    with fresh_database(backend, tmp_path) as (url, sync_url):
        process, _, env = start_server(url, tmp_path)
        try:
            engine = sqlalchemy.create_engine(sync_url)
            with engine.begin() as connection:
                rows = [
                    # A sweep runs and completes; a dispatch of a message that is gone too.
                    ("retention.sweep", {}, "dead", "RuntimeError('disk full')\nTraceback…"),
                    ("messages.dispatch", {"message_id": "01GONE"}, "dead", "TimeoutError()"),
                    ("retention.sweep", {}, "dead", "ValueError('x')"),
                    # Live work not due for a day: no command may touch it.
                    ("retention.sweep", {}, "pending", None),
                ]
                for kind, payload, status, error in rows:
                    connection.execute(
                        sqlalchemy.insert(OutboxJob.__table__).values(
                            kind=kind,
                            project_id="ops",
                            payload=payload,
                            dedup_key=f"ops:{uuid.uuid4()}",
                            status=status,
                            attempts=12 if status == "dead" else 0,
                            run_after=utcnow() + timedelta(days=1),
                            last_error=error,
                        )
                    )
            engine.dispose()

            def jobs(*options: str) -> list[dict]:
                return json.loads(chorus("jobs", "list", "--json", *options, env=env))

            dead = jobs("--status", "dead")
            assert [(j["kind"], j["attempts"]) for j in dead] == [
                ("retention.sweep", 12),
                ("messages.dispatch", 12),
                ("retention.sweep", 12),
            ]
            assert dead[0]["last_error"].startswith("RuntimeError('disk full')")
            text = chorus("jobs", "list", "--status", "dead", env=env)
            assert "RuntimeError('disk full')" in text and "Traceback" not in text
            first, second, third = (j["id"] for j in dead)
            # The server's own pending work (its retention sweep) and the one written above.
            live = max(j["id"] for j in jobs("--status", "pending"))

            assert "2 dead jobs queued again" in chorus(
                "jobs", "retry", str(first), str(second), env=env
            )
            poll(
                lambda: not {first, second} & {j["id"] for j in jobs()},
                seconds=60,
                what="the server's workers running the two jobs queued again",
            )
            assert "1 dead jobs dropped" in chorus("jobs", "drop", "--all", env=env)
            left = {j["id"] for j in jobs()}
            assert live in left and third not in left and not jobs("--status", "dead")
            assert "0 dead jobs queued again" in chorus("jobs", "retry", "--all", env=env)

            for refused in (["jobs", "retry"], ["jobs", "drop", "7", "--all"]):
                result = subprocess.run(
                    [sys.executable, "-m", "chorus", *refused],
                    env=env,
                    capture_output=True,
                    text=True,
                )
                assert result.returncode == 1
                assert "name dead jobs by id, or give --all" in result.stderr
        finally:
            stop_server(process)
