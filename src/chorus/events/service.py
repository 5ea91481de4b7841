"""Rules of app events: accept now, dispatch in a job on one channel only (no fallback),
report QUEUED_ON_CHANNEL / DELIVERED / FAILED to EVENT_DELIVERY webhooks."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chorus.apps.cache import app_settings
from chorus.callbacks.events import record_event
from chorus.events.schemas import SendEventRequest
from chorus.kit.clock import rfc3339, utcnow
from chorus.kit.errors import invalid, invalid_fields, not_found
from chorus.kit.ids import new_id
from chorus.kit.pagination import PageRequest, newest_first, newest_first_page, time_cursor
from chorus.messages.service import processing_mode, recipient_violations
from chorus.models import ConversationEvent, EventStatus
from chorus.outbox.service import Priority, enqueue
from chorus.wire.enums import ProcessingMode, WebhookTrigger

DISPATCH_JOB = "events.dispatch"


async def accept_event(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    project_id: str,
    body: SendEventRequest,
) -> ConversationEvent:
    app = await app_settings(sessions, project_id, body.app_id)
    if app is None:
        raise invalid("app_id", f"no app {body.app_id} in this project")
    mode = processing_mode(app, body.processing_strategy)
    # Only the first entry is used, extra entries are ignored (API.md Part B §4.1): not
    # checked, not stored.
    body.channel_priority_order = (body.channel_priority_order or [])[:1] or None
    violations = recipient_violations(app, body.recipient, body.channel_priority_order, mode)
    if violations:
        raise invalid_fields(violations)
    event = ConversationEvent(
        id=new_id(),
        project_id=project_id,
        app_id=app.id,
        direction="TO_CONTACT",
        processing_mode=mode.value,
        listed=mode == ProcessingMode.CONVERSATION or app.keeps_dispatch_messages,
        app_event=body.event.model_dump(mode="json", exclude_none=True),
        metadata_=body.event_metadata or "",
        accept_time=utcnow(),
        correlation_id=body.correlation_id,
        callback_url=body.callback_url,
        send_options=body.model_dump(
            mode="json", exclude_none=True, include={"recipient", "channel_priority_order"}
        ),
        status="QUEUED",
    )
    session.add(event)
    await enqueue(
        session,
        DISPATCH_JOB,
        project_id=project_id,
        app_id=app.id,
        payload={"event_id": event.id},
        dedup_key=f"event-dispatch:{event.id}",
        priority=Priority.of_send(body.queue),
    )
    return event


async def report(
    session: AsyncSession,
    event: ConversationEvent,
    status: str,
    *,
    failure: dict[str, Any] | None = None,
) -> None:
    """Move the event to `status` (never backwards) and tell EVENT_DELIVERY webhooks."""
    rank = {"QUEUED": 0, "QUEUED_ON_CHANNEL": 1, "DELIVERED": 2}
    if event.status == "FAILED" or (
        status != "FAILED" and rank.get(status, 0) <= rank.get(event.status, 0)
    ):
        return
    event.status = status
    event.reason = failure
    session.add(
        EventStatus(event_id=event.id, status=status, channel=event.channel, reason=failure)
    )
    payload: dict[str, Any] = {
        "event_id": event.id,
        "status": status,
        "channel_identity": {
            "channel": event.channel or "",
            "identity": event.identity or "",
            "app_id": event.identity_app_id or "",
        },
        "contact_id": event.contact_id or "",
    }
    if failure is not None:
        payload["reason"] = failure
    payload["metadata"] = event.metadata_
    payload["processing_mode"] = event.processing_mode
    await record_event(
        session,
        WebhookTrigger.EVENT_DELIVERY,
        project_id=event.project_id,
        app_id=event.app_id,
        payload_key="event_delivery_report",
        payload=payload,
        message_metadata=event.metadata_ or "",
        correlation_id=event.correlation_id,
        callback_url=event.callback_url,
        ordering_key=event.id,
    )


def event_view(event: ConversationEvent) -> dict[str, Any]:
    """The ConversationEvent resource (API.md Part B §4.4)."""
    view: dict[str, Any] = {"id": event.id, "direction": event.direction}
    for key, value in (
        ("app_event", event.app_event),
        ("contact_event", event.contact_event),
        ("contact_message_event", event.contact_message_event),
    ):
        if value is not None:
            view[key] = value
    if event.conversation_id:
        view["conversation_id"] = event.conversation_id
    if event.contact_id:
        view["contact_id"] = event.contact_id
    if event.channel:
        view["channel_identity"] = {
            "channel": event.channel,
            "identity": event.identity or "",
            "app_id": event.identity_app_id or "",
        }
    view["accept_time"] = rfc3339(event.accept_time)
    view["processing_mode"] = event.processing_mode
    return view


async def get_event(
    session: AsyncSession, project_id: str, event_id: str, *, for_update: bool = False
) -> ConversationEvent:
    event = await session.get(ConversationEvent, event_id, with_for_update=for_update)
    if event is None or event.project_id != project_id or not event.listed:
        raise not_found("event", event_id)
    return event


async def delete_event(session: AsyncSession, project_id: str, event_id: str) -> None:
    # Locked, so that of several deletes at once one wins and the others find nothing (404).
    await session.delete(await get_event(session, project_id, event_id, for_update=True))


async def list_events(
    session: AsyncSession,
    project_id: str,
    page: PageRequest,
    *,
    conversation_id: str | None,
    contact_id: str | None,
) -> tuple[list[ConversationEvent], str]:
    query = select(ConversationEvent).where(
        ConversationEvent.project_id == project_id, ConversationEvent.listed.is_(True)
    )
    if conversation_id is not None:
        query = query.where(ConversationEvent.conversation_id == conversation_id)
    if contact_id is not None:
        query = query.where(ConversationEvent.contact_id == contact_id)
    query = newest_first(
        query, ConversationEvent.accept_time, ConversationEvent.id, time_cursor(page)
    )
    rows = list((await session.scalars(query.limit(page.size + 1))).all())
    return newest_first_page(page, rows)
