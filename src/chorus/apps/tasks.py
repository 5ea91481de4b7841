"""Background jobs of apps: registering chorus's inbound URL with a channel.

`apps.register_webhook` (queued when a credential that needs it is saved,
`service._register_webhooks`, and when a server starts with another public base URL than the
one registered, `service.follow_inbound_urls`) calls the channel with the app's credential as
it is when the job runs, and records the outcome as that credential's state: ACTIVE, or
FAILING with the channel's reason, and the URL it gave. Transient failures (the channel does
not answer, or asks to retry) are retried with backoff first; a credential changed meanwhile
keeps the state of its own, later registration.
"""

from typing import Any

from sqlalchemy import select

from chorus.apps import cache, service
from chorus.channels.base import ChannelFailure
from chorus.channels.registry import plugin_for
from chorus.models import App
from chorus.outbox.worker import Job, Retry, backoff
from chorus.runtime import JobHandler, Runtime

ATTEMPTS = 8  # about two minutes of a channel that does not answer (backoff from 2 s)


async def register_webhook(runtime: Runtime, job: Job) -> None:
    channel = job.payload["channel"]
    plugin = plugin_for(channel)
    async with runtime.db.read_sessions() as session:
        app = await session.get(App, job.app_id)
    credential = _credential(app, channel) if app is not None else None
    if plugin is None or app is None or credential is None:
        return  # the app or its credential is gone: nothing to register
    url = runtime.inbound_url(channel, app.id)
    try:
        await plugin.register_webhook(
            runtime.channels,
            runtime.channel_base_url(channel, plugin.production_base_url),
            credential,
            url,
        )
        state = service.ACTIVE
    except ChannelFailure as failure:
        if failure.transient and job.attempts < ATTEMPTS:
            raise Retry(
                failure.retry_after or backoff(job.attempts, base=2.0, cap=300.0),
                failure.description,
            ) from None
        state = {"status": service.FAILING, "description": _described(failure)}
    async with runtime.db.write_sessions() as session:
        current = await session.scalar(select(App).where(App.id == app.id).with_for_update())
        stored = _credential(current, channel) if current is not None else None
        if (
            current is not None
            and stored is not None
            and not plugin.registers_webhook(credential, stored)
        ):
            current.channel_credentials = [
                {**c, "state": state, service.WEBHOOK_URL: url} if c["channel"] == channel else c
                for c in current.channel_credentials
            ]
        await job.complete(session)
        await session.commit()
    cache.forget(app.id)


def _credential(app: App, channel: str) -> dict[str, Any] | None:
    return next((c for c in app.channel_credentials if c["channel"] == channel), None)


def _described(failure: ChannelFailure) -> str:
    code = f" ({failure.channel_code})" if failure.channel_code else ""
    return f"{failure.code.value}{code}: {failure.description}"


HANDLERS: dict[str, JobHandler] = {service.REGISTER_WEBHOOK_JOB: register_webhook}
