"""A webhook receiver for tests: a small threaded HTTP server on 127.0.0.1 that records every
request and can be told to fail (answer 500 for the next N requests, or always) or to be down
(its port closed), then to come back on the same port. `/token` answers as an OAuth2
client-credentials endpoint.

Each receiver listens on a port no earlier receiver of the test run had: a server remembers
for a while which webhook origins stopped answering (`kit/breaker.py`), and a new
receiver must not inherit the rest of a closed one that happened to have its port."""

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

# Ports receivers of this test run have listened on.
_USED_PORTS: set[int] = set()


def fresh_port() -> int:
    """A free port no receiver of this run has had, now counted as had, for a receiver in
    another process (the Node tests'). Ports refused stay bound until one is found, so that
    the system does not offer them again."""
    refused: list[socket.socket] = []
    try:
        while True:
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
            if port not in _USED_PORTS:
                probe.close()
                _USED_PORTS.add(port)
                return port
            refused.append(probe)
    finally:
        for probe in refused:
            probe.close()


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.fail_next = 0
        self.always_fail = False
        self.tokens_issued = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.up()

    # --- control -------------------------------------------------------------------

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or -1)
                raw = self.rfile.read(max(length, 0))
                if length < 0 or len(raw) < length:
                    # The sender died mid-request (a kill -9 test): like any real receiver,
                    # a truncated request is not a callback received. (Every request chorus
                    # sends here has a content-length.)
                    self.close_connection = True
                    return
                body = raw.decode("utf-8")
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer = receiver._answer(self.path, headers, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = self._listen(Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        _USED_PORTS.add(self.port)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _listen(self, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
        """On this receiver's port when it comes back up; else on a port no receiver of
        this run had (bound at once, so that nothing else takes it meanwhile)."""
        if self.port:
            return ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        refused: list[ThreadingHTTPServer] = []
        try:
            while True:
                server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
                if server.server_address[1] not in _USED_PORTS:
                    return server
                refused.append(server)
        finally:
            for server in refused:
                server.server_close()

    def down(self) -> None:
        """Close the port: attempts get a connection error."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def close(self) -> None:
        self.down()

    # --- answers -------------------------------------------------------------------

    def _answer(self, path: str, headers: dict[str, str], body: str) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(Received(path, headers, body))
            if path.startswith("/token"):
                self.tokens_issued += 1
                form = dict(parse_qsl(body))
                return 200, {
                    "access_token": f"token-{self.tokens_issued}",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "form": form,
                }
            if self.always_fail:
                return 500, {"error": "failing on purpose"}
            if self.fail_next > 0:
                self.fail_next -= 1
                return 500, {"error": "failing on purpose"}
            return 200, {}

    # --- reading -------------------------------------------------------------------

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: str = "/hook") -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def wait_for(
        self,
        condition: Callable[[list[Received]], bool],
        path: str = "/hook",
        timeout: float = 30,
    ) -> list[Received]:
        """Poll until `condition(received)` holds; fail after `timeout` seconds."""
        return wait_until(lambda: self.received(path), condition, timeout, "receiver")


def wait_until(
    read: Callable[[], Any], condition: Callable[[Any], bool], timeout: float, what: str
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if condition(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: condition not met within {timeout} s; last: {value!r}")
        time.sleep(0.05)
