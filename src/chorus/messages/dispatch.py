"""The dispatch job: one message, one candidate channel, one attempt (API.md Part B §3).

1. `prepare` (one transaction): on the first run resolve the contact, the conversation and
   the ordered candidates; check the TTL and the app's drain rate; transcode.
2. `send` through the channel's connector — no transaction is open while the channel
   answers.
3. `record` (one transaction, with the job's completion): QUEUED_ON_CHANNEL, or a retry of
   a transient failure, or SWITCHING_CHANNEL (queuing the next candidate's job), or FAILED.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chorus.apps import cache as app_cache
from chorus.apps import repository as apps
from chorus.channels.base import (
    Accepted,
    ChannelFailure,
    ChannelPlugin,
    Dispatch,
    Transcoded,
    attempt_send,
)
from chorus.channels.registry import plugin_for
from chorus.consents import service as consents
from chorus.contacts import repository as contacts_repository
from chorus.contacts import service as contacts
from chorus.conversations import repository as conversations_repository
from chorus.conversations import service as conversations
from chorus.kit.clock import utcnow
from chorus.kit.ratelimit import take_token
from chorus.messages import repository as messages_repository
from chorus.messages import revocation, status
from chorus.messages.transcoding import TranscodingFailed, transcode_message
from chorus.models import App, ChannelMessageRef, Conversation, Message
from chorus.outbox.service import Priority, enqueue
from chorus.outbox.worker import Job, Retry, backoff
from chorus.runtime import Runtime
from chorus.templates import resolve as templates
from chorus.templates import service as template_service
from chorus.wire.enums import APP_SCOPED_CHANNELS, MetadataUpdateStrategy, ProcessingMode
from chorus.wire.identities import normalise_identity
from chorus.wire.messages import AppMessage, ReasonCode

DEFAULT_RETRY_WINDOW = 3600.0
REPORT_TIMEOUT_JOB = "messages.report_timeout"


@dataclass(frozen=True)
class Attempt:
    plugin: ChannelPlugin
    dispatch: Dispatch
    index: int
    # The app as `prepare` read it: `record` needs its fallback settings, not a fresh read.
    delivery_report_based_fallback: dict[str, Any]


@dataclass(frozen=True)
class Refusal:
    """Why the current candidate cannot be tried; `everywhere`: no other channel could."""

    reason: dict[str, Any]
    everywhere: bool = False

    @classmethod
    def because(cls, code: ReasonCode, description: str) -> "Refusal":
        return cls(status.reason(code, description))


async def run_dispatch(runtime: Runtime, job: Job) -> None:
    message_id = job.payload["message_id"]
    attempt = await prepare(runtime, job, message_id)
    if attempt is None:
        return
    base_url = runtime.channel_base_url(attempt.plugin.channel, attempt.plugin.production_base_url)
    outcome = await attempt_send(attempt.plugin, runtime.channels, base_url, attempt.dispatch)
    await record(runtime, job, message_id, attempt, outcome)


# --- 1. prepare --------------------------------------------------------------------------


async def prepare(runtime: Runtime, job: Job, message_id: str) -> Attempt | None:
    async with runtime.db.write_sessions() as session:
        message = await status.lock(session, message_id)
        if message is None or message.status in status.TERMINAL:
            await job.complete(session)
            await session.commit()
            return None
        app = await app_cache.app_in_project(session, message.project_id, message.app_id)
        failure = await _resolve(session, message, app) if message.candidates is None else None
        if failure is None and status.expired(message):
            failure = status.reason(ReasonCode.MESSAGE_EXPIRED, "the message's ttl elapsed")
        chosen = status.candidate(message) if failure is None else None
        if chosen is not None:
            # Opted out on this channel: no native call (and no drain budget spent); the
            # next candidate is tried.
            failure = await consents.refusal(
                session,
                message.app_id,
                chosen["channel"],
                chosen["identity"],
                (message.send_options or {}).get("message_content_type"),
            )
        if failure is not None:
            await status.fail(session, message, failure)
            await job.complete(session)
            await session.commit()
            return None
        assert app is not None
        wait = await take_token(
            session,
            f"app-outbound:{app.id}",
            rate=float(app.rate_limits.get("outbound", 20)),
            burst=max(1.0, float(app.rate_limits.get("outbound", 20))),
        )
        if wait > 0:
            await session.commit()
            raise Retry(wait, "app drain rate reached")
        plugin = plugin_for(chosen["channel"]) if chosen is not None else None
        last_inbound = (
            await messages_repository.last_inbound_at(
                session, app.id, chosen["channel"], chosen["identity"]
            )
            if chosen is not None and plugin is not None and plugin.sending_window
            else None
        )
        attempt = await _attempt(runtime, session, message, app, last_inbound)
        if isinstance(attempt, Refusal):
            await status.fail(session, message, attempt.reason, everywhere=attempt.everywhere)
            await job.complete(session)
            await session.commit()
            return None
        await session.commit()
        return attempt


async def _attempt(
    runtime: Runtime,
    session: AsyncSession,
    message: Message,
    app: App,
    last_inbound: datetime | None,
) -> Attempt | Refusal:
    """The attempt on the current candidate, or the reason it cannot be made."""
    chosen = status.candidate(message)
    assert chosen is not None
    channel = chosen["channel"]
    credential = next((c for c in app.channel_credentials if c["channel"] == channel), None)
    if credential is None:
        return Refusal.because(
            ReasonCode.CHANNEL_CONFIGURATION_MISSING, f"the app has no {channel} credentials"
        )
    plugin = plugin_for(channel)
    if plugin is None:
        return Refusal.because(
            ReasonCode.UNSUPPORTED_OPERATION, f"this chorus has no connector for {channel} yet"
        )
    if not plugin.identity_is_valid(chosen["identity"]):
        return Refusal.because(
            ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY,
            f"{chosen['identity']!r} is not a valid {channel} identity",
        )
    try:
        content = await templates.message_for_channel(
            session,
            message.project_id,
            AppMessage.model_validate(message.app_message),
            plugin.channel,
            channel_templates=plugin.channel_templates,
        )
    except templates.TemplateFailure as failure:
        # Resolving the omni template failed: so it would on every channel (§3.7).
        everywhere = failure.code.value.startswith("TEMPLATE_")
        return Refusal(failure.reason, everywhere=everywhere)
    try:
        transcoded: Transcoded = transcode_message(
            plugin,
            content,
            message_id=message.id,
            recipient=chosen["identity"],
            properties=(message.send_options or {}).get("channel_properties") or {},
        )
    except TranscodingFailed as failed:
        return Refusal(failed.reason)
    options = message.send_options or {}
    remaining = (message.expire_at - utcnow()).total_seconds() if message.expire_at else None
    return Attempt(
        plugin=plugin,
        index=message.candidate_index,
        delivery_report_based_fallback=app.delivery_report_based_fallback or {},
        dispatch=Dispatch(
            project_id=message.project_id,
            app_id=message.app_id,
            message_id=message.id,
            identity=chosen["identity"],
            credential=credential,
            transcoded=transcoded,
            properties=options.get("channel_properties") or {},
            inbound_url=runtime.inbound_url(channel, message.app_id),
            ttl_seconds=remaining,
            last_inbound_at=last_inbound,
            enforce_windows=runtime.settings.enforce_sending_windows,
            message_content_type=options.get("message_content_type"),
            app_display_name=app.display_name,
            delivery_timeout=runtime.delivery_timeout(channel),
        ),
    )


async def _resolve(session: AsyncSession, message: Message, app: App | None) -> dict | None:
    """Contact, conversation and candidates (API.md Part B §3.2–§3.4), once per message.
    Returns the reason when the message cannot go anywhere."""
    if app is None:
        return status.reason(ReasonCode.UNKNOWN_APP, f"app {message.app_id} no longer exists")
    options = message.send_options or {}
    recipient = options.get("recipient") or {}
    given = [
        (i["channel"], normalise_identity(i["channel"], i["identity"]))
        for i in (recipient.get("identified_by") or {}).get("channel_identities", [])
    ]
    if message.processing_mode == ProcessingMode.DISPATCH.value:
        message.candidates = order_candidates(
            given, options, app, contact_priority=None, active=None
        )
        message.candidate_index = 0
        return None if message.candidates else _none_left(contact=False)

    created = False
    if recipient.get("contact_id"):
        contact = await contacts_repository.get(
            session, message.project_id, recipient["contact_id"], kept=True
        )
        if contact is None:
            return status.reason(
                ReasonCode.CONTACT_NOT_FOUND, f"no contact {recipient['contact_id']}"
            )
    else:
        contact, created = await contacts.resolve_contact(
            session, message.project_id, app.id, given
        )
    known = (
        []
        if given
        else [
            (i.channel, i.identity)
            for i in await contacts.identities_for_app(session, contact, app.id)
        ]
    )
    existing = (
        None  # a contact created just now has no conversation yet
        if created
        else await conversations_repository.active_for_pair(session, app.id, contact.id)
    )
    pool = given if given else known
    candidates = order_candidates(
        pool,
        options,
        app,
        contact_priority=None if given else contact.channel_priority,
        active=existing.active_channel if existing is not None and not given else None,
    )
    if not candidates:
        message.candidates, message.candidate_index = candidates, 0
        message.contact_id = contact.id
        return _none_left(contact=not given)

    def shape(conversation: Conversation) -> None:
        """What the send sets on its conversation (API.md Part B §3.8)."""
        if options.get("conversation_metadata") is not None:
            conversations.apply_metadata(
                conversation,
                options["conversation_metadata"],
                MetadataUpdateStrategy(
                    options.get("conversation_metadata_update_strategy", "REPLACE")
                ),
            )
        if message.correlation_id:
            conversation.correlation_id = message.correlation_id
        conversation.last_received = message.accept_time

    if existing is not None:
        shape(existing)
    conversation = existing or await conversations.start_conversation(
        session,
        message.project_id,
        app.id,
        contact.id,
        candidates[0]["channel"],
        last_received=message.accept_time,
        shape=shape,
    )
    # Set together, after the conversation's insert has flushed the session: one UPDATE of
    # the message, not one before that flush and another after.
    message.candidates, message.candidate_index = candidates, 0
    message.contact_id = contact.id
    message.conversation_id = conversation.id
    return None


def order_candidates(
    pool: list[tuple[str, str]],
    options: dict[str, Any],
    app: App,
    *,
    contact_priority: list[str] | None,
    active: str | None,
) -> list[dict[str, str]]:
    """Candidates in API.md Part B §3.2's order: one per channel, only channels the app has
    credentials for."""
    first_identity: dict[str, str] = {}
    for channel, identity in pool:
        first_identity.setdefault(channel, identity)
    credentialed = [c["channel"] for c in app.channel_credentials]
    if options.get("channel_priority_order"):
        order = list(options["channel_priority_order"])
    elif contact_priority is None:
        order = list(first_identity)
    else:
        order = ([active] if active else []) + list(contact_priority) + credentialed
    candidates = []
    for channel in dict.fromkeys(order):
        if channel in first_identity and channel in credentialed:
            candidates.append(
                {
                    "channel": channel,
                    "identity": first_identity[channel],
                    "app_id": app.id if channel in APP_SCOPED_CHANNELS else "",
                }
            )
    return candidates


def _none_left(*, contact: bool) -> dict[str, Any]:
    if contact:
        return status.reason(
            ReasonCode.NO_CHANNEL_IDENTITY_FOR_CONTACT,
            "the contact has no identity on a channel the app can send on",
        )
    return status.reason(ReasonCode.NO_CHANNELS_LEFT, "no channel left to try")


# --- 3. record ---------------------------------------------------------------------------


async def record(
    runtime: Runtime,
    job: Job,
    message_id: str,
    attempt: Attempt,
    outcome: Accepted | ChannelFailure,
) -> None:
    retry_in: float | None = None
    async with runtime.db.write_sessions() as session:
        message = await status.lock(session, message_id)
        if message is None:
            await job.complete(session)
        elif isinstance(outcome, Accepted):
            await _accepted(session, message, attempt, outcome)
            await job.complete(session)
        else:
            retry_in = await _failed(session, message, attempt, outcome, job.attempts)
            if retry_in is None:
                await job.complete(session)
        await session.commit()
    if retry_in is not None:
        raise Retry(retry_in, outcome.description if isinstance(outcome, ChannelFailure) else "")


async def _accepted(
    session: AsyncSession, message: Message, attempt: Attempt, accepted: Accepted
) -> None:
    channel = attempt.plugin.channel.value
    for native_id in dict.fromkeys((accepted.native_id, *accepted.extra_native_ids)):
        session.add(
            ChannelMessageRef(
                channel=channel,
                native_id=native_id,
                message_id=message.id,
                candidate_index=attempt.index,
            )
        )
    message.retry_since = None
    message.reply_options = [
        {"number": o.number, "label": o.label, "postback_data": o.postback_data}
        for o in attempt.dispatch.transcoded.options
    ] or None
    await status.submitted(session, message, attempt.index)
    if accepted.canonical_identity and message.contact_id:
        await _learn_identity(session, message, channel, accepted.canonical_identity)
    if message.conversation_id:
        await conversations_repository.touch(
            session, message.conversation_id, active_channel=channel, at=message.accept_time
        )
    await _watch_for_report(session, message, attempt)
    timeout = attempt.dispatch.delivery_timeout
    if timeout is not None:
        await revocation.watch_for_delivery(
            session, message, attempt.index, accepted.native_id, timeout
        )


async def _learn_identity(
    session: AsyncSession, message: Message, channel: str, identity: str
) -> None:
    """The channel knows the recipient by another identity (WhatsApp's wa_id): the contact
    gains it, so that the user's own traffic, which comes from it, finds the same contact."""
    contact = await contacts_repository.get(session, message.project_id, message.contact_id or "")
    if contact is not None:
        scope = message.app_id if channel in APP_SCOPED_CHANNELS else ""
        await contacts.add_identities(session, contact, [(channel, identity, scope)])


async def _watch_for_report(session: AsyncSession, message: Message, attempt: Attempt) -> None:
    """Delivery-report-based fallback: if neither DELIVERED nor READ arrives in time, move
    on (only when another candidate remains)."""
    fallback = attempt.delivery_report_based_fallback
    index = attempt.index
    if not fallback.get("enabled") or index + 1 >= len(message.candidates or []):
        return
    wait = float(fallback.get("delivery_report_waiting_time") or 60)
    await enqueue(
        session,
        REPORT_TIMEOUT_JOB,
        project_id=message.project_id,
        app_id=message.app_id,
        payload={"message_id": message.id, "candidate_index": index},
        dedup_key=f"report-timeout:{message.id}:{index}",
        priority=Priority.FOLLOW_UP,
        run_after=utcnow() + timedelta(seconds=wait),
    )


async def _failed(
    session: AsyncSession,
    message: Message,
    attempt: Attempt,
    failure: ChannelFailure,
    attempts: int,
) -> float | None:
    """A failed attempt: seconds until a retry, or None when the failure is recorded."""
    if attempt.index != message.candidate_index or message.status in status.TERMINAL:
        return None
    if failure.transient and status.expired(message):
        # Not on the channel when the ttl ran out: MESSAGE_EXPIRED, whatever came after (§3.7).
        ttl = f"the message's ttl elapsed while retrying ({failure.description})"
        await status.fail(session, message, status.reason(ReasonCode.MESSAGE_EXPIRED, ttl))
        return None
    if failure.transient:
        app = await apps.get(session, message.project_id, message.app_id)
        settings = (app.message_retry_settings or {}) if app else {}
        window = float(settings.get("retry_duration") or DEFAULT_RETRY_WINDOW)
        now = utcnow()
        message.retry_since = message.retry_since or now
        elapsed = (now - message.retry_since).total_seconds()
        if elapsed < window:
            # At least one retry; the last one lands at the window's end (§3.7), or at the
            # ttl's, where it ends MESSAGE_EXPIRED then rather than after the backoff.
            delay = failure.retry_after or backoff(attempts, base=1.0, cap=300.0)
            left = (message.expire_at - now).total_seconds() if message.expire_at else window
            return max(0.1, min(delay, window - elapsed, left))
    failure = await _in_another_language(session, message, attempt, failure)
    await status.fail(session, message, failure.reason())
    return None


async def _in_another_language(
    session: AsyncSession, message: Message, attempt: Attempt, failure: ChannelFailure
) -> ChannelFailure:
    """A channel template the channel does not have (TEMPLATE_NOT_FOUND) is one it lacks in
    that language when the project's templates name it in another (CHANNELS.md §2.3, 132001:
    the channel says the same for both)."""
    if failure.code != ReasonCode.TEMPLATE_NOT_FOUND:
        return failure
    named = attempt.plugin.channel_template(attempt.dispatch.transcoded)
    if named is None:
        return failure
    name, language = named
    known = await template_service.channel_template_languages(
        session, message.project_id, attempt.plugin.channel.value, name
    )
    if not known - {template_service.language_key(language)}:
        return failure
    return ChannelFailure(
        ReasonCode.TEMPLATE_NON_EXISTING_LANGUAGE_OR_VERSION,
        f"{failure.description} (the project's templates name {name} in "
        f"{', '.join(sorted(known))}, not in {language})",
        channel_code=failure.channel_code,
    )


async def run_report_timeout(runtime: Runtime, job: Job) -> None:
    """No positive report in time on candidate `candidate_index`: SWITCHING_CHANNEL."""
    async with runtime.db.write_sessions() as session:
        message = await status.lock(session, job.payload["message_id"])
        index = job.payload["candidate_index"]
        if (
            message is not None
            and message.candidate_index == index
            and message.status == status.QUEUED_ON_CHANNEL
        ):
            await status.fail(
                session,
                message,
                status.reason(
                    ReasonCode.DELIVERY_REPORT_TIME_OUT,
                    "no delivery report within the app's delivery_report_waiting_time",
                ),
            )
        await job.complete(session)
        await session.commit()


async def dispatch_given_up(runtime: Runtime, job: Job) -> None:
    """The dispatch job kept failing unexpectedly: the candidate fails with INTERNAL_ERROR
    (the next one is tried, or the message ends FAILED) rather than waiting forever."""
    async with runtime.db.write_sessions() as session:
        message = await status.lock(session, job.payload["message_id"])
        if message is not None and message.status not in status.TERMINAL:
            await status.fail(
                session,
                message,
                status.reason(ReasonCode.INTERNAL_ERROR, "chorus could not dispatch the message"),
            )
        await session.commit()
