"""Processing of verified native traffic (DESIGN.md: `/inbound/{channel}/{app_id}` →
contact/conversation resolution → store → outbox). Runs in the request's transaction, so a
2xx to the channel means the traffic is on disk with the callbacks it causes."""

import hashlib
import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.apps import cache as app_cache
from chorus.callbacks.events import record_event
from chorus.channels.base import (
    ChannelEvent,
    ChannelPlugin,
    ConsentChange,
    Ignored,
    InboundEvent,
    InboundItem,
    InboundMessage,
    InboundRejected,
    NativeRequest,
    ReplyOption,
    StatusReport,
    Unmapped,
)
from chorus.consents import service as consents
from chorus.contacts import repository as contacts_repository
from chorus.contacts import service as contacts
from chorus.conversations import repository as conversations_repository
from chorus.conversations import service as conversations
from chorus.inbound import analysis
from chorus.kit.clock import rfc3339, utcnow
from chorus.kit.db import insert_ignoring_conflicts
from chorus.kit.ids import new_id
from chorus.kit.pagination import PageRequest, newest_first, newest_first_page, time_cursor
from chorus.messages import repository as messages
from chorus.messages import status
from chorus.models import (
    App,
    ChannelMessageRef,
    Conversation,
    ConversationEvent,
    InboundRequest,
    Message,
    SeenInboundEvent,
)
from chorus.wire.enums import APP_SCOPED_CHANNELS, ProcessingMode, ReportView, WebhookTrigger
from chorus.wire.identities import normalise_identity

CHOICE_REPLY_WINDOW = timedelta(hours=24)


class ReportTooEarly(Exception):
    """A report about a native id chorus has not recorded (yet)."""


# What a channel names, and the width of the columns that keep it
# (`ChannelMessageRef.native_id`, `Message.identity` and `sender_id`): a longer value is no
# channel's, and PostgreSQL would refuse the row.
_NAMED, _WIDTH = ("identity", "native_id", "sender_id", "context_native_id"), 256


def check_widths(items: list[InboundItem]) -> None:
    for item in items:
        for name in _NAMED:
            value = getattr(item, name, None)
            if isinstance(value, str) and len(value) > _WIDTH:
                raise InboundRejected(400, f"{name} is longer than {_WIDTH} characters")


# How long, by the report's own time, a report about a native id chorus has not recorded is
# asked for again (503): the send it answers may still be recording the id the channel gave
# it. An older one answers no send of chorus's (another system sending from the same number,
# or a send that ran again under a new id after a process died before recording the first):
# it is acknowledged and kept as ignored, or the channel would redeliver it for days.
REPORT_WAIT = timedelta(minutes=10)


_TEXT_STATUSES = {"DELIVERED": status.DELIVERED, "READ": status.READ, "FAILED": status.FAILED}


async def process(
    session: AsyncSession,
    app: App,
    plugin: ChannelPlugin,
    request: NativeRequest,
    items: list[InboundItem],
    *,
    stop_keywords: bool = True,
) -> None:
    """`stop_keywords`: SMS consent keywords are on (CHORUS_SMS_STOP_KEYWORDS)."""
    for item in items:
        event_id = getattr(item, "event_id", None)
        if event_id and not await first_delivery(session, app, plugin, request, event_id):
            continue
        if isinstance(item, InboundMessage):
            message = await receive_message(session, app, plugin, item)
            if message is not None and stop_keywords and item.reply_text is not None:
                await consents.keyword_consent(
                    session,
                    app,
                    message.channel or plugin.channel.value,
                    message.identity or item.identity,
                    item.reply_text,
                    contact_id=message.contact_id or "",
                    at=item.at,
                )
        elif isinstance(item, ConsentChange):
            await consents.channel_consent(session, app, plugin.channel.value, item)
        elif isinstance(item, StatusReport):
            await apply_report(session, app, plugin, request, item)
        elif isinstance(item, InboundEvent):
            await receive_event(session, app, plugin, item)
        elif isinstance(item, Unmapped):
            await unsupported(session, app, plugin, request, item)
        elif isinstance(item, ChannelEvent):
            await channel_event(session, app, plugin, item)
        elif isinstance(item, Ignored):
            record_request(
                session,
                app.id,
                app.project_id,
                plugin.channel.value,
                request,
                "ignored",
                item.description,
            )


def record_request(
    session: AsyncSession,
    app_id: str,
    project_id: str | None,
    channel: str,
    request: NativeRequest,
    outcome: str,
    detail: str,
) -> None:
    session.add(
        InboundRequest(
            project_id=project_id,
            app_id=app_id,
            channel=channel,
            outcome=outcome,
            detail=detail[:2000],
            headers={k: v for k, v in request.headers.items() if k != "authorization"},
            body=request.body.decode("utf-8", "replace")[:65536],
        )
    )


async def first_delivery(
    session: AsyncSession, app: App, plugin: ChannelPlugin, request: NativeRequest, event_id: str
) -> bool:
    """Whether the channel's event `event_id` reaches the app for the first time. Its id is
    kept in the transaction that processes it (rolled back with it when the channel is asked
    to deliver it again), so a delivery again — a retry after a lost answer, or one racing
    the first in another process, which waits for the first to commit — is recorded as a
    duplicate and changes nothing. Kept for `retention.SEEN_EVENTS_KEPT`."""
    channel = plugin.channel.value
    key = event_id if len(event_id) <= 256 else hashlib.sha256(event_id.encode()).hexdigest()
    row = {"app_id": app.id, "channel": channel, "event_id": key, "seen_at": utcnow()}
    inserted = await session.execute(insert_ignoring_conflicts(session, SeenInboundEvent, row))
    if inserted.rowcount:
        return True
    detail = f"a repeated delivery of {channel} event {event_id!r}, already processed"
    record_request(session, app.id, app.project_id, channel, request, "duplicate", detail)
    return False


OUTCOMES = ("rejected", "unmapped", "ignored", "duplicate")


async def requests_of_app(
    session: AsyncSession, app_id: str, outcome: str | None, page: PageRequest
) -> tuple[list[InboundRequest], str]:
    """A page of the channel requests kept for the app, newest first, and the next token."""
    query = select(InboundRequest).where(InboundRequest.app_id == app_id)
    if outcome is not None:
        query = query.where(InboundRequest.outcome == outcome)
    query = newest_first(query, InboundRequest.received_at, InboundRequest.id, time_cursor(page))
    rows = list((await session.scalars(query.limit(page.size + 1))).all())
    return newest_first_page(page, rows, moment="received_at")


def request_view(kept: InboundRequest) -> dict[str, Any]:
    return {
        "id": kept.id,
        "channel": kept.channel,
        "outcome": kept.outcome,
        "detail": kept.detail,
        "received_at": rfc3339(kept.received_at),
        "headers": kept.headers,
        "body": kept.body,
    }


# --- contact messages --------------------------------------------------------------------


async def receive_message(
    session: AsyncSession, app: App, plugin: ChannelPlugin, item: InboundMessage
) -> Message | None:
    channel = plugin.channel.value
    # A message without the channel's id cannot be told from another: none is dropped as
    # seen, and none is kept as a reference (an empty id would match every later one).
    if item.native_id and await _seen(session, channel, item.native_id):
        return None  # the channel delivered this webhook again
    item = await _resolve_context(session, channel, item)
    identity = normalise_identity(channel, item.identity)
    scope = app.id if plugin.channel in APP_SCOPED_CHANNELS else ""
    now = utcnow()
    message = Message(
        id=new_id(),
        project_id=app.project_id,
        app_id=app.id,
        direction="TO_APP",
        processing_mode=app.processing_mode,
        channel=channel,
        identity=identity,
        identity_app_id=scope,
        contact_message=item.contact_message,
        metadata_=item.metadata,
        accept_time=now,
        sender_id=item.sender_id,
        status="RECEIVED",
        listed=_listed(app),
        updated_at=now,
    )
    if item.profile_name:
        await contacts_repository.remember_profile_name(
            session, app.project_id, app.id, channel, identity, item.profile_name
        )
    conversation: Conversation | None = None
    if app.processing_mode == ProcessingMode.CONVERSATION.value:
        contact, _ = await contacts.resolve_contact(
            session, app.project_id, app.id, [(channel, identity)], display_name=item.profile_name
        )
        conversation = await conversations.active_conversation(
            session, app.project_id, app.id, contact.id, channel, received=now
        )
        message.contact_id = contact.id
        message.conversation_id = conversation.id
    metadata = await _choice_reply(session, app, plugin, item, identity, message)
    if metadata is not None:
        # A choice's answer carries the metadata of the message that asked (§8.3): stored as
        # the callback tells it, so that reading the message later says the same.
        message.metadata_ = metadata
    await _reply_to(session, channel, item, message)
    session.add(message)
    await session.flush()  # the reference below points at the message row
    if item.native_id:
        session.add(
            ChannelMessageRef(
                channel=channel, native_id=item.native_id, message_id=message.id, candidate_index=0
            )
        )
    await session.flush()
    payload = {
        "id": message.id,
        "direction": "TO_APP",
        "contact_message": message.contact_message,
        "channel_identity": {"channel": channel, "identity": identity, "app_id": scope},
        "conversation_id": message.conversation_id or "",
        "contact_id": message.contact_id or "",
        "metadata": message.metadata_,
        "accept_time": rfc3339(now),
        "sender_id": item.sender_id or "",
        "processing_mode": message.processing_mode,
        "injected": False,
    }
    if conversation is not None:
        stored, correlation_id = conversation.metadata_json, conversation.correlation_id
    else:
        stored, correlation_id = await _dispatch_context(session, app, channel, identity)
    report_metadata = None
    if app.conversation_metadata_report_view == ReportView.FULL.value:
        report_metadata = (
            "" if stored is None else json.dumps(stored, separators=(",", ":"), ensure_ascii=False)
        )
    envelope: dict[str, Any] = {
        "project_id": app.project_id,
        "app_id": app.id,
        "message_metadata": report_metadata,
        "correlation_id": correlation_id,
        "event_time": item.at,
    }
    await record_event(
        session, WebhookTrigger.MESSAGE_INBOUND, payload_key="message", payload=payload, **envelope
    )
    if (app.smart_conversation or {}).get("enabled"):
        await _smart_conversation(session, payload, envelope)
    return message


async def _smart_conversation(
    session: AsyncSession, payload: dict[str, Any], envelope: dict[str, Any]
) -> None:
    """The message again with its personal data masked, and its analysis (`inbound.analysis`)."""
    content = payload["contact_message"]
    await record_event(
        session,
        WebhookTrigger.MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION,
        payload_key="message_redaction",
        payload={**payload, "contact_message": analysis.redacted(content)},
        **envelope,
    )
    identity = payload["channel_identity"]
    await record_event(
        session,
        WebhookTrigger.SMART_CONVERSATIONS,
        payload_key="smart_conversation_notification",
        payload={
            "contact_id": payload["contact_id"],
            "channel_identity": identity["identity"],  # a plain string here (API.md §8.3)
            "channel": identity["channel"],
            "message_id": payload["id"],
            "conversation_id": payload["conversation_id"],
            "analysis_results": analysis.analysis_results(content),
        },
        **envelope,
    )


def _listed(app: App) -> bool:
    """Whether the app's inbound traffic is listed: DISPATCH apps keep it only with a
    dispatch retention (`Message.listed`)."""
    conversation = app.processing_mode == ProcessingMode.CONVERSATION.value
    return conversation or bool((app.dispatch_retention_policy or {}).get("ttl_days"))


async def _dispatch_context(
    session: AsyncSession, app: App, channel: str, identity: str
) -> tuple[Any, str | None]:
    """DISPATCH mode has no conversation: the metadata and correlation id are those the
    latest send to the identity attached to it, while the dispatch store keeps that send
    (API.md Part B §3.1; none when the app keeps no dispatch messages)."""
    if not (app.dispatch_retention_policy or {}).get("ttl_days"):
        return None, None
    latest = await messages.latest_sent_to(session, app.project_id, app.id, channel, identity)
    if latest is None:
        return None, None
    return (latest.send_options or {}).get("conversation_metadata"), latest.correlation_id


async def _reply_to(
    session: AsyncSession, channel: str, item: InboundMessage, message: Message
) -> None:
    """`reply_to` from the channel's id of the answered message; a choice response that
    did not name its app message gets it from there too."""
    if not item.context_native_id:
        return
    ref = await messages.channel_ref(session, channel, item.context_native_id)
    if ref is None:
        return
    content = dict(message.contact_message or {})
    choice = content.get("choice_response_message")
    if choice is not None and not choice.get("message_id"):
        content["choice_response_message"] = {**choice, "message_id": ref.message_id}
    content["reply_to"] = {"message_id": ref.message_id}
    message.contact_message = content


async def _resolve_context(
    session: AsyncSession, channel: str, item: InboundMessage
) -> InboundMessage:
    """A message that means something else when its context names no stored message
    (WhatsApp's tapped replies: a fallback_message) becomes that, and matches no options."""
    if item.unresolved_context is None:
        return item
    if item.context_native_id and await _seen(session, channel, item.context_native_id):
        return item
    return replace(item, contact_message=item.unresolved_context, reply_text=None)


async def _tapped_message(session: AsyncSession, channel: str, item: InboundMessage) -> str | None:
    """The app message a tapped reply quotes (WhatsApp's `context.id`): the one it answers,
    however many later messages offer the same options."""
    if item.unresolved_context is None or not item.context_native_id:
        return None
    ref = await messages.channel_ref(session, channel, item.context_native_id)
    return ref.message_id if ref is not None else None


async def _seen(session: AsyncSession, channel: str, native_id: str) -> bool:
    return await messages.channel_ref(session, channel, native_id) is not None


async def _choice_reply(
    session: AsyncSession,
    app: App,
    plugin: ChannelPlugin,
    item: InboundMessage,
    identity: str,
    message: Message,
) -> str | None:
    """A typed reply naming an option of the identity's last rendered choice (or of the
    message a short postback envelope names, part 2 "Postback envelope") becomes a
    choice_response_message (CHANNELS.md part 1 §1.7). Returns the metadata the callback
    carries then: the app message's own."""
    if item.reply_text is None:
        return None
    # The window and the conversation bound a guess at the message a typed text answers;
    # a short envelope names its message, tapped however late (a button stays on screen).
    named = plugin.named_message(item.reply_text) or await _tapped_message(
        session, plugin.channel.value, item
    )
    last = await messages.latest_sent_to(
        session,
        app.project_id,
        app.id,
        plugin.channel.value,
        identity,
        since=None if named else utcnow() - CHOICE_REPLY_WINDOW,
        message_id=named,
    )
    if last is None or not last.reply_options:
        return None
    guessed = named is None and message.conversation_id is not None
    if guessed and last.conversation_id != message.conversation_id:
        return None
    options = [
        ReplyOption(o["number"], o["label"], o.get("postback_data")) for o in last.reply_options
    ]
    chosen = plugin.match_reply(item.reply_text, options)
    if chosen is None:
        return None
    postback = chosen.postback_data or f"{last.id}_{chosen.label}"
    message.contact_message = {
        "choice_response_message": {"message_id": last.id, "postback_data": postback}
    }
    return last.metadata_


# --- delivery reports --------------------------------------------------------------------


async def apply_report(
    session: AsyncSession,
    app: App,
    plugin: ChannelPlugin,
    request: NativeRequest,
    report: StatusReport,
) -> None:
    channel = plugin.channel.value
    new_status = _TEXT_STATUSES.get(report.status)
    if new_status is None:
        return  # Queued, Dispatched, Unknown…: nothing changes
    if report.native_id is None and report.message_id is None:
        await _apply_watermark(session, app, channel, report, new_status)
        return
    ref = (
        await messages.channel_ref(session, channel, report.native_id) if report.native_id else None
    )
    message_id = ref.message_id if ref is not None else report.message_id
    message = await status.lock(session, message_id) if message_id else None
    if message is None and report.message_id is None and report.native_id and _recent(report):
        # The channel may report before the send that it answers is recorded (the native id
        # is stored when the send call returns): ask it to deliver the report again.
        raise ReportTooEarly(report.native_id)
    if message is None or message.app_id != app.id or message.direction != "TO_CONTACT":
        record_request(
            session,
            app.id,
            app.project_id,
            channel,
            request,
            "ignored",
            "report about an unknown message",
        )
        return
    if ref is not None:
        index = ref.candidate_index
    else:
        index = next(
            (i for i, c in enumerate(message.candidates or []) if c["channel"] == channel),
            message.candidate_index,
        )
    await status.channel_reported(
        session, message, new_status, index, failure=report.reason, at=report.at
    )


def _recent(report: StatusReport) -> bool:
    """Within REPORT_WAIT of the report's own time. A report without one is taken as old:
    asking for it again would ask for ever (the real channels date every report)."""
    return report.at is not None and report.at > utcnow() - REPORT_WAIT


async def _apply_watermark(
    session: AsyncSession, app: App, channel: str, report: StatusReport, new_status: str
) -> None:
    """A report naming no message but a moment (Messenger's read and delivery watermarks):
    it covers the messages to the identity on the channel accepted up to then — for a read,
    those already reported delivered (each message's own delivery report comes first)."""
    if report.identity is None or report.at is None:
        return
    identity = normalise_identity(channel, report.identity)
    statuses = (status.DELIVERED,) if new_status == status.READ else (status.QUEUED_ON_CHANNEL,)
    waiting = await messages.awaiting_report(
        session, app.id, channel, identity, report.at, statuses
    )
    for message_id in waiting:
        message = await status.lock(session, message_id)
        if message is not None:
            index = next(
                (i for i, c in enumerate(message.candidates or []) if c["channel"] == channel),
                message.candidate_index,
            )
            await status.channel_reported(session, message, new_status, index, at=report.at)


# --- events and the unmapped -------------------------------------------------------------


async def receive_event(
    session: AsyncSession, app: App, plugin: ChannelPlugin, item: InboundEvent
) -> None:
    channel = plugin.channel.value
    identity = normalise_identity(channel, item.identity)
    scope = app.id if plugin.channel in APP_SCOPED_CHANNELS else ""
    contact_id = conversation_id = correlation_id = None
    if app.processing_mode == ProcessingMode.CONVERSATION.value:
        contact, _ = await contacts.resolve_contact(
            session, app.project_id, app.id, [(channel, identity)]
        )
        contact_id = contact.id
        existing = await conversations_repository.active_for_pair(session, app.id, contact.id)
        if existing is not None:
            conversation_id, correlation_id = existing.id, existing.correlation_id
    now = utcnow()
    event = ConversationEvent(
        id=new_id(),
        project_id=app.project_id,
        app_id=app.id,
        contact_id=contact_id,
        conversation_id=conversation_id,
        direction="TO_APP",
        processing_mode=app.processing_mode,
        channel=channel,
        identity=identity,
        identity_app_id=scope,
        contact_event=item.contact_event,
        contact_message_event=item.contact_message_event,
        accept_time=now,
        listed=_listed(app),
        status="RECEIVED",
    )
    session.add(event)
    payload: dict[str, Any] = {"id": event.id, "direction": "TO_APP"}
    if item.contact_event is not None:
        payload["contact_event"] = item.contact_event
    if item.contact_message_event is not None:
        payload["contact_message_event"] = item.contact_message_event
    payload.update(
        {
            "channel_identity": {"channel": channel, "identity": identity, "app_id": scope},
            "contact_id": contact_id or "",
            "conversation_id": conversation_id or "",
            "accept_time": rfc3339(now),
            "processing_mode": app.processing_mode,
        }
    )
    await record_event(
        session,
        WebhookTrigger.EVENT_INBOUND,
        project_id=app.project_id,
        app_id=app.id,
        payload_key="event",
        payload=payload,
        correlation_id=correlation_id,
        event_time=item.at,
    )


async def unsupported(
    session: AsyncSession, app: App, plugin: ChannelPlugin, request: NativeRequest, item: Unmapped
) -> None:
    channel = plugin.channel.value
    record_request(session, app.id, app.project_id, channel, request, "unmapped", item.description)
    identity = normalise_identity(channel, item.identity) if item.identity else ""
    scope = app.id if plugin.channel in APP_SCOPED_CHANNELS and identity else ""
    contact_id = conversation_id = ""
    correlation_id = None
    if identity and app.processing_mode == ProcessingMode.CONVERSATION.value:
        if item.learns_identity:
            contact, _ = await contacts.resolve_contact(
                session, app.project_id, app.id, [(channel, identity)]
            )
            holders = [contact.id]
        else:
            holders = await contacts_repository.holders_of_key(
                session, app.project_id, channel, identity, scope
            )
        contact_id = holders[0] if holders else ""
        existing = (
            await conversations_repository.active_for_pair(session, app.id, contact_id)
            if contact_id
            else None
        )
        if existing is not None:
            conversation_id, correlation_id = existing.id, existing.correlation_id
    await record_event(
        session,
        WebhookTrigger.UNSUPPORTED,
        project_id=app.project_id,
        app_id=app.id,
        payload_key="unsupported_callback",
        payload={
            "channel": channel,
            "payload": item.payload,
            "processing_mode": app.processing_mode,
            "id": new_id(),
            "contact_id": contact_id,
            "conversation_id": conversation_id,
            "channel_identity": {"channel": channel, "identity": identity, "app_id": scope},
        },
        correlation_id=correlation_id,
    )


async def channel_event(
    session: AsyncSession, app: App, plugin: ChannelPlugin, item: ChannelEvent
) -> None:
    """News about the app's account on the channel, for its CHANNEL_EVENT webhooks."""
    event = {
        "channel": plugin.channel.value,
        "event_type": item.event_type,
        "additional_data": item.additional_data,
    }
    await record_event(
        session,
        WebhookTrigger.CHANNEL_EVENT,
        project_id=app.project_id,
        app_id=app.id,
        payload_key="channel_event_notification",
        payload={"channel_event": event},
        event_time=item.at,
    )


async def app_for(session: AsyncSession, app_id: str) -> App | None:
    """The app a channel's webhook names (as read at most `apps.cache.TTL` seconds ago)."""
    return await app_cache.app_by_id(session, app_id)
