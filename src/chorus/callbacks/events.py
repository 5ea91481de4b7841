"""Occurrences that webhooks may subscribe to, recorded in the outbox.

The callback body is built now, from the state as of this transaction, so that what a
webhook later receives describes the change itself even if the entity changes again or is
deleted. The fan-out job finds the subscribed webhooks when it runs.
"""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.clock import rfc3339, utcnow
from chorus.kit.ids import new_id
from chorus.outbox.service import enqueue
from chorus.wire.enums import WebhookTrigger

FAN_OUT = "callbacks.fan_out"


async def record_event(
    session: AsyncSession,
    trigger: WebhookTrigger,
    *,
    project_id: str,
    payload_key: str,
    payload: dict[str, Any],
    app_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Queue one occurrence. `app_id` None means every app of the project (contact events:
    contacts are project-wide); otherwise only that app's webhooks."""
    event_id = new_id()
    now = rfc3339(utcnow())
    await enqueue(
        session,
        FAN_OUT,
        project_id=project_id,
        app_id=app_id,
        dedup_key=f"event:{event_id}",
        payload={
            "event_id": event_id,
            "trigger": trigger.value,
            "accepted_time": now,
            "event_time": now,
            "payload_key": payload_key,
            "payload": payload,
            **({"extra": extra} if extra else {}),
        },
    )
