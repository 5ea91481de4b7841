"""How busy this process is serving API clients, so its in-process workers can yield.

`chorus serve` runs the API and the workers on one event loop. Left alone, 32 running jobs
take most of the loop while clients are sending, and `messages:send` latency climbs with the
backlog. API requests come first: while clients are being served, the worker runs a few
jobs at a time and rests between them (`outbox/worker.py`, BUSY_BATCH; it never stops: the
backlog still drains), and takes up full speed again once the API has been quiet for a
moment. Accepted messages wait durably in the outbox, so this trades drain speed during a
burst for the latency and rate of the calls that accept them.
"""

import time

from starlette.types import ASGIApp, Receive, Scope, Send

# Client-facing API paths. Not the simulator's fakes and not the channels' inbound
# webhooks: the workers' own traffic goes there.
API_PREFIXES = ("/v1/", "/v1beta/", "/v2/", "/oauth2/", "/chorus/")
QUIET_SECONDS = 0.05


class RequestLoad:
    def __init__(self) -> None:
        self.in_flight = 0
        self.last_seen = float("-inf")

    def busy(self) -> bool:
        return self.in_flight > 0 or time.monotonic() - self.last_seen < QUIET_SECONDS


class CountApiRequests:
    """ASGI middleware that keeps a `RequestLoad` of the client API requests."""

    def __init__(self, app: ASGIApp, load: RequestLoad) -> None:
        self.app = app
        self.load = load

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIXES):
            await self.app(scope, receive, send)
            return
        load = self.load
        load.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            load.in_flight -= 1
            load.last_seen = time.monotonic()
