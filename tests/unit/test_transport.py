"""The httpx transport over aiohttp (`kit/transport.py`), against real sockets: what a caller
sees must be what httpx's own transport would give it, answers and failures alike."""

import asyncio
import gzip
import shutil
import socket
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from yarl import URL

from chorus.kit.transport import AiohttpTransport, Client, Proxies

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head, await reader.readexactly(length)


async def with_server(serve: Serve, use: Callable[[str], Awaitable[None]]) -> None:
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await use(f"http://127.0.0.1:{port}")
    finally:
        server.close()


def client(timeout: float = 5.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=AiohttpTransport(), timeout=timeout)


def test_a_request_and_its_answer_arrive_as_httpx_sends_and_reads_them() -> None:
    seen: list[tuple[bytes, bytes]] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                seen.append(await read_request(reader))
            except asyncio.IncompleteReadError:
                break
            body = gzip.compress(b'{"ok": true}')
            writer.write(
                b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\n"
                b"content-encoding: gzip\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            await writer.drain()
        writer.close()

    async def use(base: str) -> None:
        async with client() as http:
            for _ in range(2):  # the second on the kept-alive connection
                response = await http.post(
                    f"{base}/hook?q=a%2Fb",
                    content=b'{"x": 1}',
                    headers={"content-type": "application/json", "x-chorus-event-id": "e1"},
                )
                assert response.status_code == 201
                assert response.json() == {"ok": True}  # decoded by httpx
                assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
            form = await http.post(f"{base}/token", data={"grant_type": "client_credentials"})
            assert form.status_code == 201

    asyncio.run(with_server(serve, use))
    head, body = seen[0]
    assert head.startswith(b"POST /hook?q=a%2Fb HTTP/1.1\r\n")  # the query as given
    assert b"x-chorus-event-id: e1" in head.lower()
    assert body == b'{"x": 1}'
    assert seen[2][1] == b"grant_type=client_credentials"
    assert b"application/x-www-form-urlencoded" in seen[2][0]


def test_chorus_client_keeps_no_cookies_and_sends_each_url_as_given() -> None:
    seen: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head, _ = await read_request(reader)
            except asyncio.IncompleteReadError:
                break
            seen.append(head)
            writer.write(b"HTTP/1.1 200 OK\r\nset-cookie: session=1\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
        writer.close()

    async def use(base: str) -> None:
        async with Client(transport=AiohttpTransport(), timeout=5.0) as http:
            for url in (f"{base}/a?x=1", f"{base}/a?x=2", f"{base}/a?x=1", f"{base}/b"):
                assert (await http.post(url, content=b"{}")).status_code == 200
            assert not http.cookies
            with pytest.raises(TypeError):
                http.cookies = {"session": "1"}

    asyncio.run(with_server(serve, use))
    targets = [head.split(b"\r\n", 1)[0] for head in seen]
    assert targets == [
        b"POST /a?x=1 HTTP/1.1",
        b"POST /a?x=2 HTTP/1.1",
        b"POST /a?x=1 HTTP/1.1",
        b"POST /b HTTP/1.1",
    ]
    assert not any(b"cookie:" in head.lower() for head in seen)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_refused_connection_is_a_connect_error() -> None:
    async def scenario() -> None:
        async with client() as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(f"http://127.0.0.1:{free_port()}/")

    asyncio.run(scenario())


def test_a_server_that_does_not_answer_is_a_read_timeout() -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async def use(base: str) -> None:
        async with client(timeout=0.2) as http:
            with pytest.raises(httpx.ReadTimeout):
                await http.post(base, content=b"{}")

    asyncio.run(with_server(serve, use))


def test_a_server_that_hangs_up_without_answering_is_a_protocol_error() -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.close()

    async def use(base: str) -> None:
        async with client() as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.post(base, content=b"{}")

    asyncio.run(with_server(serve, use))


def test_a_url_that_is_not_http_is_refused_as_httpx_refuses_it() -> None:
    async def scenario() -> None:
        async with client() as http:
            with pytest.raises(httpx.UnsupportedProtocol):
                await http.get("ftp://127.0.0.1/file")

    asyncio.run(scenario())


def test_every_failure_is_an_httpx_transport_error() -> None:
    """Callers sort failures by httpx's classes only (`channels/*/connector.py`,
    `callbacks/delivery.py`)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        writer.close()

    async def use(base: str) -> None:
        async with client() as http:
            with pytest.raises(httpx.TransportError):
                await http.post(base, content=b"{}")

    asyncio.run(with_server(serve, use))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls_is_verified_and_ssl_cert_file_adds_trust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A self-signed server is refused; trusted through SSL_CERT_FILE (as httpx honours it),
    it is answered."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    new_key = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subject = ["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"]
    subprocess.run(
        ["openssl", *new_key, *subject, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await read_request(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            return  # the client refused the certificate
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def scenario() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
        url = f"https://localhost:{server.sockets[0].getsockname()[1]}/"
        try:
            async with client() as http:
                with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    await http.get(url)
            monkeypatch.setenv("SSL_CERT_FILE", str(cert))
            async with client() as http:
                assert (await http.get(url)).text == "ok"
        finally:
            server.close()

    asyncio.run(scenario())


def test_an_egress_proxy_carries_requests_but_loopback_hosts_are_reached_directly() -> None:
    """No proxy can reach this machine's own servers (the simulator, a receiver beside
    chorus)."""
    through_proxy: list[bytes] = []
    direct: list[bytes] = []

    def answering(text: bytes, seen: list[bytes]) -> Serve:
        """A server that records each request line and answers `text`."""

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head, _ = await read_request(reader)
            seen.append(head.split(b"\r\n")[0])
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(text), text))
            await writer.drain()
            writer.close()

        return serve

    proxy, local = answering(b"proxied", through_proxy), answering(b"direct", direct)

    async def scenario() -> None:
        proxy_server = await asyncio.start_server(proxy, "127.0.0.1", 0)
        local_server = await asyncio.start_server(local, "127.0.0.1", 0)
        proxy_url = f"http://127.0.0.1:{proxy_server.sockets[0].getsockname()[1]}"
        local_port = local_server.sockets[0].getsockname()[1]
        proxies = Proxies({"http": proxy_url})
        try:
            async with httpx.AsyncClient(transport=AiohttpTransport(proxies=proxies)) as http:
                answer = await http.post("http://hooks.example/hook?x=1", content=b"{}")
                assert answer.text == "proxied"
                assert (await http.get(f"http://127.0.0.1:{local_port}/a")).text == "direct"
                assert (await http.get(f"http://localhost:{local_port}/b")).text == "direct"
        finally:
            proxy_server.close()
            local_server.close()

    asyncio.run(scenario())
    assert through_proxy == [b"POST http://hooks.example/hook?x=1 HTTP/1.1"]
    assert direct == [b"GET /a HTTP/1.1", b"GET /b HTTP/1.1"]


def test_proxies_come_from_the_standard_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("https_proxy", "no_proxy", "http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "channel.example,.internal")
    proxies = Proxies()
    assert proxies.for_url(URL("https://graph.facebook.com/v19.0/me")) == (
        "http://proxy.internal:3128"
    )
    assert proxies.for_url(URL("http://graph.facebook.com/")) is None  # no HTTP_PROXY
    assert proxies.for_url(URL("https://channel.example/send")) is None
    assert proxies.for_url(URL("https://api.hooks.internal/cb")) is None
    assert proxies.for_url(URL("https://[::1]:8443/")) is None
