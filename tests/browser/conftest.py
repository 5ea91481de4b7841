"""Browser tests of the console: Playwright for Python driving Debian's Chromium against a
real chorus server (SQLite; the console is the same on both databases).

Screenshots go to a temporary directory, or to `CHORUS_SCREENSHOTS` when set
(`CHORUS_SCREENSHOTS=docs/console pytest tests/browser` refreshes the README's)."""

import json
import os
import tempfile
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Credentials, start_server, stop_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> None:
    """Skip without Debian's Chromium, except in CI, where it must be there."""
    if CHROMIUM.exists():
        return
    reason = (
        "browser tests need Debian's Chromium at /usr/bin/chromium "
        "(apt-get install chromium; .ci/run installs it)"
    )
    if os.environ.get("CI"):
        pytest.fail(reason + " (required when CI is set)", pytrace=False)
    pytest.skip(reason)


class ConsoleServer:
    def __init__(self, url: str, credentials: Credentials, log: Path) -> None:
        self.url = url
        self.credentials = credentials
        self.log = log  # what `chorus serve` printed

    def printed_console_url(self) -> str:
        for line in self.log.read_text().splitlines():
            if line.startswith("Console: "):
                return line.split()[1]
        raise AssertionError(f"no console URL in {self.log.read_text()!r}")

    def api(self) -> httpx.Client:
        c = self.credentials
        return httpx.Client(
            base_url=f"{self.url}/v1/projects/{c.project_id}",
            auth=(c.key_id, c.key_secret),
            timeout=30,
        )


@pytest.fixture(scope="module")
def console_server() -> Iterator[ConsoleServer]:
    data_dir = Path(tempfile.mkdtemp(prefix="chorus-console-"))
    credentials = Credentials(
        f"proj-{uuid.uuid4().hex[:8]}", f"key-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    )
    process, url, _ = start_server(
        f"sqlite:///{data_dir / 'chorus.db'}",
        data_dir,
        {
            "CHORUS_BOOTSTRAP_PROJECT_ID": credentials.project_id,
            "CHORUS_BOOTSTRAP_KEY_ID": credentials.key_id,
            "CHORUS_BOOTSTRAP_KEY_SECRET": credentials.key_secret,
            "CHORUS_CALLBACK_RETRY_SCALE": "0.01",
        },
    )
    try:
        yield ConsoleServer(url, credentials, data_dir / f"server-{url.rsplit(':', 1)[1]}.log")
    finally:
        stop_server(process)


class Receiver:
    """A webhook target that answers 200 and keeps what it got."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.received.append({"headers": dict(self.headers), "body": json.loads(body)})
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/callbacks"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    instance = Receiver()
    try:
        yield instance
    finally:
        instance.httpd.shutdown()


# Module scope, not session: Playwright's sync API keeps an event loop running in this
# thread while it is open, and the PostgreSQL fixtures of later modules call asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Any, console_server: ConsoleServer) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 1360, "height": 900}, base_url=console_server.url
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
    assert errors == [], f"the console threw: {errors}"


@pytest.fixture(scope="session")
def screenshots() -> Path:
    target = Path(os.environ.get("CHORUS_SCREENSHOTS") or tempfile.mkdtemp(prefix="console-shots-"))
    target.mkdir(parents=True, exist_ok=True)
    return target
