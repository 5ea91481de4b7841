"""The event dispatch job: the first resolved candidate only, no fallback (§4.1)."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.apps import repository as apps
from chorus.channels.base import Accepted, ChannelFailure, Dispatch, attempt_send
from chorus.channels.registry import plugin_for
from chorus.consents import service as consents
from chorus.contacts import repository as contacts_repository
from chorus.contacts import service as contacts
from chorus.conversations import repository as conversations_repository
from chorus.events import service
from chorus.messages import status
from chorus.messages.dispatch import order_candidates
from chorus.models import App, ConversationEvent
from chorus.outbox.worker import Job, Retry, backoff
from chorus.runtime import Runtime
from chorus.wire.enums import ProcessingMode
from chorus.wire.events import AppEvent
from chorus.wire.identities import normalise_identity
from chorus.wire.messages import ReasonCode

TRANSIENT_ATTEMPTS = 5


async def _lock(session: AsyncSession, event_id: str) -> ConversationEvent | None:
    return await session.scalar(
        select(ConversationEvent).where(ConversationEvent.id == event_id).with_for_update()
    )


async def run_event_dispatch(runtime: Runtime, job: Job) -> None:
    event_id = job.payload["event_id"]
    async with runtime.db.write_sessions() as session:
        event = await _lock(session, event_id)
        if event is None or event.status != "QUEUED":
            await job.complete(session)
            await session.commit()
            return
        app = await apps.get(session, event.project_id, event.app_id)
        prepared = await _prepare(runtime, session, event, app)
        if isinstance(prepared, dict):
            await service.report(session, event, "FAILED", failure=prepared)
            await job.complete(session)
            await session.commit()
            return
        await session.commit()
    plugin, dispatch = prepared
    base_url = runtime.channel_base_url(plugin.channel, plugin.production_base_url)
    outcome = await attempt_send(plugin, runtime.channels, base_url, dispatch)
    async with runtime.db.write_sessions() as session:
        event = await _lock(session, event_id)
        if event is not None:
            if isinstance(outcome, Accepted):
                await service.report(session, event, "QUEUED_ON_CHANNEL")
            elif outcome.transient and job.attempts < TRANSIENT_ATTEMPTS:
                await session.commit()
                raise Retry(outcome.retry_after or backoff(job.attempts), outcome.description)
            else:
                await service.report(session, event, "FAILED", failure=outcome.reason())
        await job.complete(session)
        await session.commit()


async def _prepare(
    runtime: Runtime, session: AsyncSession, event: ConversationEvent, app: App | None
):
    """(plugin, Dispatch) for the event's first candidate, or the reason it fails."""
    if app is None:
        return status.reason(ReasonCode.UNKNOWN_APP, f"app {event.app_id} no longer exists")
    options = event.send_options or {}
    recipient = options.get("recipient") or {}
    given = [
        (i["channel"], normalise_identity(i["channel"], i["identity"]))
        for i in (recipient.get("identified_by") or {}).get("channel_identities", [])
    ]
    pool, priority, active = given, None, None
    if event.processing_mode == ProcessingMode.CONVERSATION.value:
        if recipient.get("contact_id"):
            contact = await contacts_repository.get(
                session, event.project_id, recipient["contact_id"]
            )
            if contact is None:
                return status.reason(
                    ReasonCode.CONTACT_NOT_FOUND, f"no contact {recipient['contact_id']}"
                )
        else:
            contact, _ = await contacts.resolve_contact(session, event.project_id, app.id, given)
        event.contact_id = contact.id
        conversation = await conversations_repository.active_for_pair(session, app.id, contact.id)
        event.conversation_id = conversation.id if conversation is not None else None
        if not given:
            pool = [
                (i.channel, i.identity)
                for i in await contacts.identities_for_app(session, contact, app.id)
            ]
            priority = contact.channel_priority
            active = conversation.active_channel if conversation is not None else None
    candidates = order_candidates(pool, options, app, contact_priority=priority, active=active)
    if not candidates:
        code = (
            ReasonCode.NO_CHANNEL_IDENTITY_FOR_CONTACT
            if priority is not None
            else ReasonCode.NO_CHANNELS_LEFT
        )
        return status.reason(code, "no channel to send the event on")
    chosen = candidates[0]
    event.channel, event.identity, event.identity_app_id = (
        chosen["channel"],
        chosen["identity"],
        chosen["app_id"],
    )
    # An opted-out identity is not contacted by events either (no fallback for events).
    refused = await consents.refusal(session, app.id, chosen["channel"], chosen["identity"], None)
    if refused is not None:
        return refused
    plugin = plugin_for(chosen["channel"])
    credential = next(c for c in app.channel_credentials if c["channel"] == chosen["channel"])
    if plugin is None:
        return status.reason(
            ReasonCode.UNSUPPORTED_OPERATION, f"no connector for {chosen['channel']} yet"
        )
    try:
        transcoded = plugin.transcode_event(
            AppEvent.model_validate(event.app_event), event_id=event.id
        )
    except ChannelFailure as failure:
        return failure.reason()
    return plugin, Dispatch(
        project_id=event.project_id,
        app_id=app.id,
        message_id=event.id,
        identity=chosen["identity"],
        credential=credential,
        transcoded=transcoded,
        properties={},
        inbound_url=runtime.inbound_url(chosen["channel"], app.id),
        kind="event",
    )
