"""Occurrences that webhooks may subscribe to, turned into deliveries in the transaction
that causes them.

The callback body is built now, from the state as of this transaction, so that what a
webhook later receives describes the change itself even if the entity changes again or is
deleted. The subscribed webhooks are looked up now too (`callbacks.service.fan_out`): one
delivery row and one `callbacks.deliver` job per target join the caller's transaction, and
an occurrence nobody subscribes to writes nothing at all.
"""

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chorus.callbacks.service import fan_out
from chorus.kit.clock import rfc3339, utcnow
from chorus.kit.ids import new_id
from chorus.wire.enums import WebhookTrigger


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
    """Record one occurrence for its webhooks and return its event id (the
    `x-chorus-event-id` of its callbacks).

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
    await fan_out(session, project_id, app_id, occurrence)
    return event_id
