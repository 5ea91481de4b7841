"""Rules of the messages endpoints: accepting a send (the lean request path), and the
message store (API.md Part B §2)."""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chorus.apps.cache import AppSettings, app_settings
from chorus.channels.registry import plugin_for
from chorus.kit.clock import rfc3339, utcnow
from chorus.kit.errors import (
    ApiError,
    FieldViolation,
    invalid,
    invalid_fields,
    not_found,
    try_again,
)
from chorus.kit.group_commit import TableRow
from chorus.kit.ids import new_id
from chorus.kit.pagination import PageRequest, newest_first_page, time_cursor
from chorus.messages import repository, status
from chorus.messages.repository import MessageFilter
from chorus.messages.schemas import (
    ProcessingStrategy,
    Recipient,
    SendMessageRequest,
    TranscodeRequest,
    View,
)
from chorus.messages.transcoding import TranscodingFailed, transcode_message
from chorus.models import App, Message
from chorus.outbox.service import Priority
from chorus.templates import resolve as templates
from chorus.wire.channel_properties import property_violations
from chorus.wire.enums import Channel, ProcessingMode

# Per process: app id → (valid until, queued count), so the queue cap costs no query per
# send while the queue is far from full.
_queue_sizes: dict[str, tuple[float, int]] = {}
QUEUE_SIZE_CACHE_SECONDS = 1.0
QUEUE_SIZE_MARGIN = 2000


def unknown_app(app_id: str) -> ApiError:
    return invalid("app_id", f"no app {app_id} in this project")


@dataclass(frozen=True)
class AcceptedSend:
    """A send's message and dispatch job as plain rows, for the caller to commit together
    (`kit.group_commit`: no ORM objects on the request path)."""

    message_id: str
    accept_time: datetime
    rows: list[TableRow]


async def accept_send(
    sessions: async_sessionmaker[AsyncSession],
    project_id: str,
    body: SendMessageRequest,
    queue_limit: int,
) -> AcceptedSend:
    """Validate what can be validated now and build the message with its dispatch job.
    Everything else happens in the dispatch job."""
    app = await app_settings(sessions, project_id, body.app_id)
    if app is None:
        raise unknown_app(body.app_id)
    mode = processing_mode(app, body.processing_strategy)
    _check_request(app, body, mode)
    await _check_queue(sessions, app, queue_limit)
    now = utcnow()
    message_id = new_id()
    message = {
        "id": message_id,
        "project_id": project_id,
        "app_id": app.id,
        "direction": "TO_CONTACT",
        "processing_mode": mode.value,
        "app_message": body.message.model_dump(mode="json", exclude_none=True),
        "metadata": body.message_metadata or "",
        "accept_time": now,
        "correlation_id": body.correlation_id,
        "callback_url": body.callback_url,
        "listed": mode == ProcessingMode.CONVERSATION or app.keeps_dispatch_messages,
        "send_options": body.model_dump(
            mode="json",
            exclude_none=True,
            include={
                "recipient",
                "channel_priority_order",
                "channel_properties",
                "conversation_metadata",
                "conversation_metadata_update_strategy",
                "queue",
                "message_content_type",
            },
        ),
        "expire_at": _expiry(now, body.ttl_seconds),
        "status": status.QUEUED,
        "updated_at": now,
    }
    job = status.dispatch_job_row(
        project_id,
        app.id,
        message_id,
        priority=Priority.of_send(body.queue),
    )
    return AcceptedSend(message_id, now, [(Message.__table__, message), job])


def _expiry(now: datetime, ttl: float | None) -> datetime | None:
    """When the message expires; None when never, or past what a timestamp can hold (the
    API allows ttls of ten thousand years)."""
    if not ttl:
        return None
    try:
        return now + timedelta(seconds=ttl)
    except OverflowError:
        return None


def processing_mode(app: App | AppSettings, strategy: ProcessingStrategy) -> ProcessingMode:
    if strategy == ProcessingStrategy.DISPATCH_ONLY:
        return ProcessingMode.DISPATCH
    return ProcessingMode(app.processing_mode)


def _check_request(app: AppSettings, body: SendMessageRequest, mode: ProcessingMode) -> None:
    violations = recipient_violations(app, body.recipient, body.channel_priority_order, mode)
    violations += property_violations(body.channel_properties or {}, "channel_properties")
    if violations:
        raise invalid_fields(violations)


def recipient_violations(
    app: AppSettings,
    recipient: Recipient,
    channel_priority_order: list[Channel] | None,
    mode: ProcessingMode,
) -> list[FieldViolation]:
    """Up-front checks of where a message or event may go (API.md Part B §2.2, 6 and 10)."""
    violations: list[FieldViolation] = []
    if mode == ProcessingMode.DISPATCH and recipient.contact_id is not None:
        violations.append(
            FieldViolation(
                "recipient.contact_id",
                "DISPATCH processing addresses recipients by identified_by only",
            )
        )
    for index, channel in enumerate(channel_priority_order or []):
        if channel.value not in app.channels:
            violations.append(
                FieldViolation(
                    f"channel_priority_order[{index}]",
                    f"the app has no {channel.value} credentials",
                )
            )
    identities = recipient.identified_by.channel_identities if recipient.identified_by else []
    for index, identity in enumerate(identities):
        if identity.channel.value not in app.channels:
            violations.append(
                FieldViolation(
                    f"recipient.identified_by.channel_identities[{index}].channel",
                    f"the app has no {identity.channel.value} credentials",
                )
            )
    return violations


async def _check_queue(
    sessions: async_sessionmaker[AsyncSession], app: AppSettings, limit: int
) -> None:
    """The per-app queue cap (Decision 9): 429 once `limit` messages wait for dispatch."""
    cached = _queue_sizes.get(app.id)
    now = time.monotonic()
    if cached is not None and cached[0] > now and cached[1] + QUEUE_SIZE_MARGIN < limit:
        return
    async with sessions() as session:
        size = await repository.queued_for_app(session, app.id, status.DISPATCH_JOB)
    _queue_sizes[app.id] = (now + QUEUE_SIZE_CACHE_SECONDS, size)
    if size >= limit:
        raise try_again(
            429,
            f"App {app.id} has {size} messages waiting for dispatch, its queue limit; retry later",
            1,
        )


# --- the store -----------------------------------------------------------------------------


def message_view(message: Message, view: View = View.WITH_METADATA) -> dict[str, Any]:
    """The ConversationMessage resource (API.md Part B §2.9)."""
    result: dict[str, Any] = {"id": message.id, "direction": message.direction}
    if message.app_message is not None:
        result["app_message"] = message.app_message
    if message.contact_message is not None:
        result["contact_message"] = message.contact_message
    if message.channel is not None:
        result["channel_identity"] = {
            "channel": message.channel,
            "identity": message.identity or "",
            "app_id": message.identity_app_id or "",
        }
    result["conversation_id"] = message.conversation_id or ""
    result["contact_id"] = message.contact_id or ""
    if view == View.WITH_METADATA:
        result["metadata"] = message.metadata_ or ""
    result["accept_time"] = rfc3339(message.accept_time)
    if message.sender_id:
        result["sender_id"] = message.sender_id
    result["processing_mode"] = message.processing_mode
    result["injected"] = message.injected
    result["message_status"] = None
    return result


async def get_message(
    session: AsyncSession, project_id: str, message_id: str, mode: str, *, for_update: bool = False
) -> Message:
    """The stored message, or 404. `for_update`: held until the transaction ends, so that an
    update and a delete at once take turns (the later finds nothing)."""
    message = await repository.get(session, project_id, message_id, for_update=for_update)
    if message is None or message.processing_mode != mode:
        raise not_found("message", message_id)
    return message


async def list_messages(
    session: AsyncSession, where: MessageFilter, page: PageRequest
) -> tuple[list[Message], str]:
    rows = list(await repository.page(session, where, time_cursor(page), page.size + 1))
    return newest_first_page(page, rows)


async def last_messages(
    session: AsyncSession,
    where: MessageFilter,
    page: PageRequest,
    *,
    identities: list[str] | None,
    contact_ids: list[str] | None,
) -> tuple[list[Message], str]:
    rows = list(
        await repository.last_per_key(
            session,
            where,
            identities=identities,
            contact_ids=contact_ids,
            after=time_cursor(page),
            limit=page.size + 1,
        )
    )
    return newest_first_page(page, rows)


def parse_time(value: str | None, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise invalid(field, "must be an RFC 3339 timestamp such as 2024-01-01T00:00:00Z") from None
    try:
        # Compared in UTC: an offset may carry the first or last day of year 1 or 9999 out of
        # the range of dates (0001-01-01T00:00:00+14:00).
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:
        raise invalid(field, "is out of range: in UTC it must be in the years 1 to 9999") from None


async def transcode(
    sessions: async_sessionmaker[AsyncSession], project_id: str, body: TranscodeRequest
) -> dict[str, str]:
    """`messages:transcode`: nothing is stored, nothing is sent."""
    if await app_settings(sessions, project_id, body.app_id) is None:
        raise unknown_app(body.app_id)
    result: dict[str, str] = {}
    violations: list[FieldViolation] = []
    for index, channel in enumerate(body.channels):
        plugin = plugin_for(channel)
        if plugin is None:
            violations.append(
                FieldViolation(
                    f"channels[{index}]", f"this chorus has no {channel.value} transcoder yet"
                )
            )
            continue
        try:
            async with sessions() as session:
                content = await templates.message_for_channel(
                    session,
                    project_id,
                    body.app_message,
                    channel,
                    channel_templates=plugin.channel_templates,
                )
        except templates.TemplateFailure as failure:
            violations.append(
                FieldViolation(f"channels[{index}]", f"{failure.code.value}: {failure.description}")
            )
            continue
        try:
            transcoded = transcode_message(
                plugin, content, message_id=new_id(), recipient=body.to, sender=body.from_
            )
        except TranscodingFailed as failed:
            violations.append(FieldViolation(f"channels[{index}]", failed.reason["description"]))
            continue
        result[channel.value] = transcoded.wire
    if violations:
        raise invalid_fields(violations)
    return result
