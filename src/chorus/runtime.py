"""What background work needs at hand: settings, the database, HTTP clients, and where
each channel lives. One per process; handed to every job handler."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from chorus.config import Settings
from chorus.kit.breaker import Breakers, BreakerTransport
from chorus.kit.db import Database
from chorus.kit.group_commit import GroupCommitter
from chorus.kit.load import RequestLoad
from chorus.kit.transport import AiohttpTransport, Client
from chorus.outbox.worker import Job
from chorus.wire.enums import Channel


@dataclass
class Runtime:
    settings: Settings
    db: Database
    # Webhook receivers and the simulator's own webhooks.
    http: httpx.AsyncClient
    # Channel APIs (sends, media, capability): origins that stop answering rest
    # (`kit/breaker.py`, `channel_breakers`), so a dead channel does not hold every dispatch
    # slot in timeouts.
    channels: httpx.AsyncClient
    channel_breakers: Breakers
    # Small independent writes of requests and jobs, committed together (`kit/group_commit`).
    committer: GroupCommitter
    # The API requests this process serves (none in a `chorus worker` process).
    load: RequestLoad = field(default_factory=RequestLoad)

    @classmethod
    def create(cls, settings: Settings, db: Database, load: RequestLoad | None = None) -> "Runtime":
        breakers = Breakers()
        return cls(
            settings,
            db,
            http_client(),
            http_client(
                BreakerTransport(_transport(), breakers, scale=settings.channel_rest_scale)
            ),
            breakers,
            GroupCommitter(db),
            load or RequestLoad(),
        )

    async def aclose(self) -> None:
        await self.committer.stop()
        await self.http.aclose()
        await self.channels.aclose()

    def channel_base_url(self, channel: Channel | str, production: str) -> str:
        name = Channel(channel).value.lower()
        configured = getattr(self.settings, f"{name}_base_url", None)
        if configured:
            return configured.rstrip("/")
        if self.settings.simulator:
            return f"{self.settings.base_url}/simulator/{name}"
        return production

    def delivery_timeout(self, channel: Channel | str) -> float | None:
        """How long the channel may try to deliver before chorus revokes the message (only
        channels that can revoke have the setting)."""
        name = Channel(channel).value.lower()
        timeout: float | None = getattr(self.settings, f"{name}_delivery_timeout", None)
        return timeout

    def inbound_url(self, channel: Channel | str, app_id: str) -> str:
        return f"{self.settings.base_url}/inbound/{Channel(channel).value.lower()}/{app_id}"


JobHandler = Callable[[Runtime, Job], Awaitable[None]]


def http_client(transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    return Client(
        timeout=httpx.Timeout(10.0, connect=5.0),
        transport=transport or _transport(),
        follow_redirects=False,
    )


def _transport() -> AiohttpTransport:
    return AiohttpTransport(max_connections=64)
