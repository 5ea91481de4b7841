"""The network under chorus's HTTP clients: httpx's API over aiohttp's connection pool.

Every outbound request (channel APIs, webhook callbacks, the simulator's reports) goes
through an `httpx.AsyncClient`, whose API the connectors and their tests are written in.
httpx's own pool (httpcore) checks every pooled connection on each request and on each
response (a `select` and a `getpeername` per idle one), which cost the workers about
1 ms of CPU a request, four requests a message end to end. aiohttp's pool hands a
connection over in constant time: the same request costs about a quarter.

An egress proxy is taken from the standard variables, as curl and httpx take it:
`HTTP_PROXY` / `HTTPS_PROXY` (HTTPS through `CONNECT`), `NO_PROXY` for hosts to reach
directly. Loopback hosts are always reached directly: no proxy can reach this machine's own
simulator or a receiver beside it.

The response body is read here, whole, as httpx does for a request that is not streamed
(chorus streams none), and handed to httpx undecoded, so content decoding stays httpx's.
aiohttp's errors become the httpx errors that callers already sort: a refused connection
is a `ConnectError`, a timeout a `ConnectTimeout` or `ReadTimeout`, and so on.

`Client` is the httpx client itself, less two costs that chorus's requests never need: a
cookie jar (httpx turns every response into a urllib request and an email message to look for
cookies: a fifth of a request's CPU; no channel API or webhook receiver is a browser session)
and parsing the same few URLs again on every request.
"""

import asyncio
import ipaddress
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import httpx
from yarl import URL

# aiohttp errors in the order they are tested (subclasses before their bases).
_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
    (aiohttp.ClientHttpProxyError, httpx.ProxyError),
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (asyncio.TimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.ClientError, httpx.TransportError),
)


@contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except httpx.HTTPError:
        raise
    except Exception as exc:
        for aiohttp_error, httpx_error in _ERRORS:
            if isinstance(exc, aiohttp_error):
                message = str(exc) or _DEFAULT_MESSAGES.get(httpx_error, type(exc).__name__)
                raise httpx_error(message, request=request) from exc
        raise


_DEFAULT_MESSAGES = {
    httpx.ConnectTimeout: "timed out connecting",
    httpx.ReadTimeout: "timed out waiting for the response",
}


def _headers(request: httpx.Request) -> list[tuple[str, str]]:
    """As httpx would send them: names in the case they were given, repeats kept."""
    return [
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw
    ]


_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower().rstrip(".") in _LOOPBACK_NAMES


class Proxies:
    """The egress proxy of each URL, from the environment as it was when created."""

    def __init__(self, environment: dict[str, str] | None = None) -> None:
        self._proxies = (
            urllib.request.getproxies_environment() if environment is None else environment
        )

    def for_url(self, url: URL) -> str | None:
        proxy = self._proxies.get(url.scheme or "")
        host = url.host or ""
        if not proxy or _loopback(host):
            return None
        if urllib.request.proxy_bypass_environment(host, self._proxies):
            return None
        return proxy


class _NoCookies(httpx.Cookies):
    """A jar that keeps nothing: responses are not searched for cookies."""

    def extract_cookies(self, response: httpx.Response) -> None:
        pass


URL_CACHE_SIZE = 1024


class Client(httpx.AsyncClient):
    """chorus's outbound HTTP client (see the module's docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cookies = _NoCookies()
        self._urls: dict[str, httpx.URL] = {}

    @property  # type: ignore[override]
    def cookies(self) -> httpx.Cookies:
        return self._cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        raise TypeError("chorus's HTTP clients keep no cookies")

    def build_request(self, method: str, url: httpx.URL | str, **kwargs: Any) -> httpx.Request:
        if isinstance(url, str):
            parsed = self._urls.get(url)
            if parsed is None:
                if len(self._urls) >= URL_CACHE_SIZE:
                    self._urls.clear()
                parsed = self._urls[url] = httpx.URL(url)
            url = parsed
        return super().build_request(method, url, **kwargs)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport on one aiohttp session, opened on first use (on the running
    event loop) and closed with the client."""

    def __init__(self, *, max_connections: int = 64, proxies: Proxies | None = None) -> None:
        self._max_connections = max_connections
        self._proxies = proxies or Proxies()
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._max_connections,
                    # TLS verified as httpx verifies it: certifi's roots, or SSL_CERT_FILE /
                    # SSL_CERT_DIR when set.
                    ssl=httpx.create_ssl_context(),
                ),
                auto_decompress=False,  # httpx decodes, as it does on its own pool
                cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the client's cookies
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._open()
        timeout = request.extensions.get("timeout", {})
        body = await request.aread()
        url = URL(str(request.url), encoded=True)
        with _as_httpx_errors(request):
            async with session.request(
                request.method,
                url,
                proxy=self._proxies.for_url(url),
                headers=_headers(request),
                data=body or None,
                allow_redirects=False,  # httpx follows them, when asked
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            ) as response:
                content = await response.read()
                return httpx.Response(
                    response.status,
                    headers=response.raw_headers,
                    stream=httpx.ByteStream(content),
                    request=request,
                    extensions={"http_version": b"HTTP/1.1"},
                )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
