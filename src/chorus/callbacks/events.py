"""Occurrences that webhooks may subscribe to, recorded in the outbox.

The callback body is built now, from the state as of this transaction, so that what a
webhook later receives describes the change itself even if the entity changes again or is
deleted. The fan-out job (`callbacks.tasks.fan_out`) finds the subscribed webhooks when it
runs and queues one delivery per target.
"""

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.clock import rfc3339, utcnow
from chorus.kit.ids import new_id
from chorus.outbox.service import enqueue
from chorus.wire.enums import WebhookTrigger

FAN_OUT = "callbacks.fan_out"
DELIVER = "callbacks.deliver"


async def record_event(
    session: AsyncSession,
    trigger: WebhookTrigger,
    *,
    project_id: str,
    payload_key: str,
    payload: dict[str, Any],
    app_id: str | None = None,
    extra: dict[str, Any] | None = None,
    message_metadata: str | None = None,
    correlation_id: str | None = None,
    callback_url: str | None = None,
    ordering_key: str | None = None,
    event_time: datetime | None = None,
) -> str:
    """Queue one occurrence and return its event id (the `x-chorus-event-id` of its callbacks).

    - `app_id` None means every app of the project (contact events: contacts are
      project-wide); otherwise only that app's webhooks.
    - `message_metadata` / `correlation_id` become envelope keys when given (API.md §8.1).
    - `callback_url`: for MESSAGE_DELIVERY and EVENT_DELIVERY, deliver only there instead of
      to the app's webhooks (Decision 7); ignored for other triggers.
    - `ordering_key` (e.g. the message id): callbacks sharing it reach each target in the
      order they were recorded.
    - `event_time`: when it happened on the channel; defaults to now (= `accepted_time`).
    """
    event_id = new_id()
    now = utcnow()
    occurrence: dict[str, Any] = {
        "event_id": event_id,
        "trigger": trigger.value,
        "accepted_time": rfc3339(now),
        "event_time": rfc3339(event_time or now),
        "payload_key": payload_key,
        "payload": payload,
    }
    if extra:
        occurrence["extra"] = extra
    for key, value in (
        ("message_metadata", message_metadata),
        ("correlation_id", correlation_id),
        ("callback_url", callback_url),
        ("ordering_key", ordering_key),
    ):
        if value is not None:
            occurrence[key] = value
    await enqueue(
        session,
        FAN_OUT,
        project_id=project_id,
        app_id=app_id,
        dedup_key=f"event:{event_id}",
        ordering_key=f"event:{ordering_key}" if ordering_key else None,
        payload=occurrence,
    )
    return event_id
