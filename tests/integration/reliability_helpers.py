"""Parts of the reliability tests (issue 3, "Reliability tests"): a chorus server that can be
killed and started again on the same database and port, `chorus worker` processes, a
gated proxy in front of the SMS channel, a multi-threaded sender, and readers of what a
webhook receiver got."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa

from tests.callbacks.receiver import Receiver
from tests.conftest import Credentials, free_port, fresh_database, stop_server

T = TypeVar("T")

MESSAGE_TRIGGERS = ["MESSAGE_DELIVERY", "MESSAGE_SUBMIT", "MESSAGE_INBOUND"]
EVENT_ID_HEADER = "x-chorus-event-id"


def poll(condition: Callable[[], T], *, seconds: float, what: str, every: float = 0.1) -> T:
    """Poll until `condition()` is truthy (and return it), or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(every)


def new_msisdn() -> str:
    return f"4670{uuid.uuid4().int % 10**7:07d}"


# --- servers and workers ------------------------------------------------------------------


def serve(
    database_url: str, data_dir: Path, port: int, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """`chorus serve` on this port (so that it can be started again where it was: channel
    callbacks already queued name that URL), ready when this returns."""
    full_env = {
        **os.environ,
        "CHORUS_DATABASE_URL": database_url,
        "CHORUS_DATA_DIR": str(data_dir),
        "CHORUS_PORT": str(port),
        **env,
    }
    log_path = data_dir / f"server-{port}-{time.monotonic_ns()}.log"
    log = open(log_path, "wb")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(
        [sys.executable, "-m", "chorus", "serve"],
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chorus exited early: {log_path.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"chorus did not become ready within 60 s: {log_path.read_text()}")


def start_worker(
    database_url: str, data_dir: Path, env: dict[str, str], name: str
) -> subprocess.Popen[bytes]:
    """A `chorus worker` process (its output in `data_dir/{name}.log`)."""
    log = open(data_dir / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(
        [sys.executable, "-m", "chorus", "worker"],
        env={
            **os.environ,
            "CHORUS_DATABASE_URL": database_url,
            "CHORUS_DATA_DIR": str(data_dir),
            **env,
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    return process


@dataclass
class Instance:
    """One chorus deployment under test: a database, a data dir, a port, and the serving
    process (which the test may kill and start again)."""

    backend: str
    database_url: str  # as given to chorus
    sync_url: str  # synchronous SQLAlchemy URL, for reading what chorus stored
    data_dir: Path
    port: int
    env: dict[str, str]
    credentials: Credentials
    process: subprocess.Popen[bytes] | None = None
    _engine: sa.Engine | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = serve(self.database_url, self.data_dir, self.port, self.env)

    def kill(self) -> None:
        """SIGKILL: no shutdown of any kind."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop_server(self.process)

    def api(self, prefix: str = "/v1") -> httpx.Client:
        creds = self.credentials
        return httpx.Client(
            base_url=f"{self.url}{prefix}/projects/{creds.project_id}",
            auth=(creds.key_id, creds.key_secret),
            timeout=30,
        )

    def ext(self) -> httpx.Client:
        """The extension API, /chorus/v1/projects/{project_id}."""
        return self.api("/chorus/v1")

    def control(self) -> httpx.Client:
        """The simulator's control API."""
        return httpx.Client(base_url=f"{self.url}/simulator/v1", timeout=30)

    def query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        if self._engine is None:
            self._engine = sa.create_engine(self.sync_url)
        with self._engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(sa.text(sql), params)]

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


@contextmanager
def instance(
    backend: str,
    env: dict[str, str] | None = None,
    *,
    port: int | None = None,
    reach_database: Callable[[str], str] | None = None,
) -> Iterator[Instance]:
    """A fresh database and a chorus server on it (stopped and dropped afterwards). `env`
    may name the port in advance (`port`), for a proxy that must know it first;
    `reach_database` turns the database URL chorus is given into another (a proxy's)."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"chorus-reliability-{backend}-"))
    credentials = Credentials(
        f"proj-{uuid.uuid4().hex[:8]}", f"key-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    )
    try:
        with fresh_database(backend, data_dir) as (database_url, sync_url):
            running = Instance(
                backend=backend,
                database_url=reach_database(database_url) if reach_database else database_url,
                sync_url=sync_url,
                data_dir=data_dir,
                port=port or free_port(),
                env={
                    "CHORUS_BOOTSTRAP_PROJECT_ID": credentials.project_id,
                    "CHORUS_BOOTSTRAP_KEY_ID": credentials.key_id,
                    "CHORUS_BOOTSTRAP_KEY_SECRET": credentials.key_secret,
                    **(env or {}),
                },
                credentials=credentials,
            )
            try:
                running.start()
                yield running
            finally:
                running.stop()
                running.dispose()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def sms_app(api: httpx.Client) -> str:
    """An app with the SMS credential of `helpers.new_app`, and a drain rate that does not
    hold the tests back."""
    body = {
        "display_name": f"app-{uuid.uuid4().hex[:6]}",
        "channel_credentials": [
            {"channel": "SMS", "static_bearer": {"claimed_identity": "46700000000", "token": "t"}}
        ],
        "rate_limits": {"outbound": 5000},
    }
    response = api.post("/apps", json=body)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def add_webhook(
    api: httpx.Client, app_id: str, target: str, triggers: list[str], **fields: Any
) -> str:
    body = {"app_id": app_id, "target": target, "triggers": triggers, **fields}
    response = api.post("/webhooks", json=body)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def send_body(app_id: str, number: str, text: str) -> dict[str, Any]:
    return {
        "app_id": app_id,
        "recipient": {
            "identified_by": {"channel_identities": [{"channel": "SMS", "identity": number}]}
        },
        "message": {"text_message": {"text": text}},
    }


def send(api: httpx.Client, app_id: str, number: str, text: str = "hello") -> str:
    response = api.post("/messages:send", json=send_body(app_id, number, text))
    assert response.status_code == 200, response.text
    return response.json()["message_id"]


def open_jobs(chorus: Instance, app_id: str) -> int:
    """Outbox jobs of the app still to run (pending or running)."""
    rows = chorus.query(
        "SELECT count(*) AS n FROM outbox_jobs WHERE app_id = :a "
        "AND status IN ('pending', 'running')",
        a=app_id,
    )
    return int(rows[0]["n"])


def inbox(chorus: Instance, number: str) -> list[dict[str, Any]]:
    """What the simulated SMS handset received (empty before its first delivery)."""
    with chorus.control() as control:
        response = control.get(f"/handsets/sms/{number}")
    if response.status_code == 404:
        return []
    assert response.status_code == 200, response.text
    return [m for m in response.json()["inbox"] if m["direction"] == "received"]


def deliveries(chorus: Instance, webhook_id: str) -> list[dict[str, Any]]:
    """Every delivery of the webhook (all pages), with its attempts."""
    found: list[dict[str, Any]] = []
    token = ""
    with chorus.ext() as ext:
        while True:
            params: dict[str, Any] = {"page_size": 100}
            if token:
                params["page_token"] = token
            response = ext.get(f"/webhooks/{webhook_id}/deliveries", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            found += page["deliveries"]
            token = page.get("next_page_token") or ""
            if not token:
                return found


# --- what a receiver got ------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryReport:
    event_id: str
    message_id: str
    status: str
    reason: dict[str, Any] | None


def delivery_reports(receiver: Receiver) -> list[DeliveryReport]:
    """The MESSAGE_DELIVERY callbacks the receiver got, in arrival order (redeliveries
    included: at-least-once)."""
    reports = []
    for request in receiver.received():
        body = request.json()
        report = body.get("message_delivery_report")
        if report is not None:
            reports.append(
                DeliveryReport(
                    request.headers.get(EVENT_ID_HEADER, ""),
                    report["message_id"],
                    report["status"],
                    report.get("reason"),
                )
            )
    return reports


def distinct_reports(reports: list[DeliveryReport], message_id: str) -> list[DeliveryReport]:
    """One report per event id (the first arrival), for one message."""
    seen: dict[str, DeliveryReport] = {}
    for report in reports:
        if report.message_id == message_id:
            seen.setdefault(report.event_id, report)
    return list(seen.values())


# --- the SMS channel behind a gate --------------------------------------------------------


class GatedProxy:
    """An HTTP proxy in front of the simulator's SMS API, for `CHORUS_SMS_BASE_URL`: each
    request goes through at once, but while the gate is closed the *answer* is held (until
    the gate opens, or `hold_cap` seconds — under the connectors' 10 s timeout, so a held
    answer is never a timeout that chorus would retry). Meanwhile the channel has accepted the
    batch and chorus has not yet recorded that: the dispatch job is still running."""

    def __init__(self, target: str, hold_cap: float = 6.0) -> None:
        self.target = target.rstrip("/")
        self.hold_cap = hold_cap
        self.forwarded: list[tuple[str, Any]] = []
        self.held = 0  # answers held right now
        self.expired = 0  # answers let go by `hold_cap` rather than by `open`
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() in ("authorization", "content-type")
                }
                try:
                    answer = httpx.post(
                        f"{proxy.target}{self.path}", content=body, headers=headers, timeout=30
                    )
                    status, data = answer.status_code, answer.content
                except httpx.HTTPError as exc:
                    status, data = 502, json.dumps({"error": repr(exc)}).encode()
                with proxy._lock:
                    proxy.forwarded.append((self.path, json.loads(body or b"null")))
                proxy._hold()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close_gate(self) -> None:
        self._open.clear()

    def open_gate(self) -> None:
        self._open.set()

    def holding(self) -> int:
        with self._lock:
            return self.held

    def _hold(self) -> None:
        if self._open.is_set():
            return
        with self._lock:
            self.held += 1
        opened = self._open.wait(self.hold_cap)
        with self._lock:
            self.held -= 1
            if not opened:
                self.expired += 1

    def close(self) -> None:
        self._open.set()
        self._server.shutdown()
        self._server.server_close()


# --- load ---------------------------------------------------------------------------------


@dataclass
class SendLoad:
    """`total` sends from `threads` threads, each to its own new number. `accepted` holds the
    message id of every send answered 200; everything else is counted in `refused`
    (connection errors by exception type, other answers by status code)."""

    chorus: Instance
    app_id: str
    total: int
    threads: int
    accepted: list[str] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    _next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for _ in range(self.threads):
            thread = threading.Thread(target=self._send, daemon=True)
            thread.start()
            self._threads.append(thread)

    def accepted_count(self) -> int:
        with self._lock:
            return len(self.accepted)

    def finished(self) -> bool:
        return not any(t.is_alive() for t in self._threads)

    def join(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self._threads), "senders did not finish"

    def _take(self) -> int | None:
        with self._lock:
            if self._next >= self.total:
                return None
            self._next += 1
            return self._next

    def _send(self) -> None:
        with self.chorus.api() as api:
            while (number := self._take()) is not None:
                body = send_body(self.app_id, new_msisdn(), f"load {number}")
                try:
                    response = api.post("/messages:send", json=body)
                except httpx.HTTPError as exc:
                    with self._lock:
                        self.refused[type(exc).__name__] += 1
                    continue
                with self._lock:
                    if response.status_code == 200:
                        self.accepted.append(response.json()["message_id"])
                    else:
                        self.refused[f"HTTP {response.status_code}"] += 1
