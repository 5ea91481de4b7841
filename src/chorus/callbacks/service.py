"""Rules of callback delivery: which targets an occurrence goes to, what an attempt is aimed
at, and how its outcome moves the delivery.

Delivery statuses: `pending` (attempts under way or scheduled), `delivered` (a 2xx answer),
`dead` (the schedule is exhausted, or the webhook or app is gone), `dismissed` (the webhook's
`target_type` is DISMISS: nothing is sent). `delivered` never moves back: a failed replay of
a delivered callback is recorded as an attempt and the status stays.
"""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, case, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.callbacks import repository
from chorus.callbacks.body import build_body, serialize
from chorus.callbacks.delivery import Outcome, Target
from chorus.kit.clock import rfc3339, utcnow
from chorus.kit.db import UTCDateTime
from chorus.kit.group_commit import Write
from chorus.kit.ids import new_id
from chorus.models import CallbackAttempt, CallbackDelivery, Webhook
from chorus.outbox.service import Priority, enqueue
from chorus.wire.enums import WebhookTargetType, WebhookTrigger

DELIVER = "callbacks.deliver"
PENDING, DELIVERED, DEAD, DISMISSED = "pending", "delivered", "dead", "dismissed"
STATUSES = (PENDING, DELIVERED, DEAD, DISMISSED)
# Reports of a send with `callback_url` go there instead of to the app's webhooks.
OVERRIDABLE_TRIGGERS = frozenset({WebhookTrigger.MESSAGE_DELIVERY, WebhookTrigger.EVENT_DELIVERY})
# Statements built once, in Core rather than through the unit of work: each runs for every
# callback (an attempt: one plan, one record).
_INSERT_DELIVERY = insert(CallbackDelivery.__table__)
_deliveries, _webhooks = CallbackDelivery.__table__, Webhook.__table__
_attempts = CallbackAttempt.__table__
_PLAN = (
    select(
        _deliveries.c.id,
        _deliveries.c.event_id,
        _deliveries.c.body,
        _deliveries.c.status,
        _deliveries.c.project_id,
        _deliveries.c.app_id,
        _deliveries.c.webhook_id,
        _deliveries.c.target,
        _webhooks.c.id.label("found_webhook"),
        _webhooks.c.target.label("webhook_target"),
        _webhooks.c.target_type,
        _webhooks.c.secret,
        _webhooks.c.client_credentials,
    )
    .outerjoin(_webhooks, _webhooks.c.id == _deliveries.c.webhook_id)
    .where(_deliveries.c.id == bindparam("delivery_id"))
)
# An attempt's outcome: every one counts and names its target and result...
_RECORD = update(_deliveries).where(_deliveries.c.id == bindparam("delivery_id"))
_ATTEMPTED = {
    "attempts": _deliveries.c.attempts + 1,
    "target": bindparam("url"),
    "last_status_code": bindparam("status_code"),
    "last_error": bindparam("error"),
}
# ...a 2xx delivers; a failure schedules the next attempt or ends the delivery, except one
# already delivered (by a replay, say), which stays so; a failed replay changes nothing more.
_was_delivered = _deliveries.c.status == DELIVERED
# A replay of a delivered callback keeps the time it was first delivered (the log's answer
# to "when did the receiver get it"); its attempt has a time of its own.
_DELIVERED = _RECORD.values(
    **_ATTEMPTED,
    status=DELIVERED,
    delivered_at=func.coalesce(_deliveries.c.delivered_at, bindparam("now", type_=UTCDateTime())),
    next_attempt_at=None,
)
_FAILED = _RECORD.values(
    **_ATTEMPTED,
    status=case((_was_delivered, _deliveries.c.status), else_=bindparam("new_status")),
    next_attempt_at=case(
        (_was_delivered, _deliveries.c.next_attempt_at),
        else_=bindparam("next_attempt_at", type_=UTCDateTime()),
    ),
)
_REPLAY_FAILED = _RECORD.values(**_ATTEMPTED)
_delivery_id = bindparam("delivery_id", type_=_deliveries.c.id.type)
_ATTEMPT_COLUMNS = ("attempted_at", "status_code", "latency_ms", "error", "headers")
_INSERT_ATTEMPT = insert(_attempts).from_select(
    ["delivery_id", *_ATTEMPT_COLUMNS],
    select(
        _delivery_id,
        *(bindparam(name, type_=_attempts.c[name].type) for name in _ATTEMPT_COLUMNS),
    ).where(exists().where(_deliveries.c.id == _delivery_id)),
)


# --- fan-out ---------------------------------------------------------------------------


async def fan_out(
    session: AsyncSession, project_id: str, app_id: str | None, occurrence: dict[str, Any]
) -> None:
    """One delivery (and one `callbacks.deliver` job) per target of the occurrence."""
    trigger = occurrence["trigger"]
    targets: list[tuple[str, Row[Any] | None, str]] = []
    callback_url = occurrence.get("callback_url")
    if callback_url and app_id is not None and trigger in OVERRIDABLE_TRIGGERS:
        targets.append((app_id, None, callback_url))
    else:
        for webhook in await repository.webhooks_for(session, project_id, app_id, trigger):
            targets.append((webhook.app_id, webhook, webhook.target))
    for target_app_id, webhook, url in targets:
        body = build_body(
            app_id=target_app_id,
            project_id=project_id,
            accepted_time=occurrence["accepted_time"],
            event_time=occurrence["event_time"],
            payload_key=occurrence["payload_key"],
            payload=occurrence["payload"],
            message_metadata=occurrence.get("message_metadata"),
            correlation_id=occurrence.get("correlation_id"),
            extra=occurrence.get("extra"),
        )
        dismissed = webhook is not None and webhook.target_type == WebhookTargetType.DISMISS
        delivery_id = new_id()
        await session.execute(
            _INSERT_DELIVERY,
            {
                "id": delivery_id,
                "event_id": occurrence["event_id"],
                "project_id": project_id,
                "app_id": target_app_id,
                "webhook_id": webhook.id if webhook else None,
                "target": url,
                "trigger": trigger,
                "body": serialize(body),
                "status": DISMISSED if dismissed else PENDING,
                "attempts": 0,
            },
        )
        if dismissed:
            continue
        ordering = occurrence.get("ordering_key")
        await enqueue(
            session,
            DELIVER,
            project_id=project_id,
            app_id=target_app_id,
            payload={"delivery_id": delivery_id},
            dedup_key=f"deliver:{delivery_id}",
            priority=Priority.FOLLOW_UP,
            ordering_key=f"{webhook.id if webhook else url}:{ordering}" if ordering else None,
        )


# --- attempts --------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What the next attempt of a delivery needs, or why there is none (`stop`)."""

    delivery_id: str
    event_id: str
    body: str
    status: str
    target: Target | None = None
    stop: str | None = None  # "done", or the reason the delivery cannot go anywhere
    stop_status: str | None = None


async def plan_attempt(session: AsyncSession, delivery_id: str) -> Plan | None:
    """Aim an attempt at the webhook as it is now (its target and secret may have changed
    since the occurrence), or at the `callback_url` with the app's current secret. One
    query: this runs for every callback."""
    row = (await session.execute(_PLAN, {"delivery_id": delivery_id})).one_or_none()
    if row is None:
        return None
    base = {"delivery_id": row.id, "event_id": row.event_id, "body": row.body}
    if row.webhook_id is None:
        app = await repository.app(session, row.project_id, row.app_id)
        if app is None:
            return Plan(**base, status=row.status, stop="the app was deleted")
        secret = (app.callback_settings or {}).get("secret_for_overridden_callback_urls") or None
        return Plan(**base, status=row.status, target=Target(row.target, secret))
    if row.found_webhook is None:
        return Plan(**base, status=row.status, stop="the webhook was deleted")
    if row.target_type == WebhookTargetType.DISMISS:
        return Plan(
            **base,
            status=row.status,
            stop="the webhook dismisses callbacks (target_type DISMISS)",
            stop_status=DISMISSED,
        )
    target = Target(
        row.webhook_target,
        row.secret or None,
        client_credentials=row.client_credentials or None,
        token_cache_key=row.webhook_id,
    )
    return Plan(**base, status=row.status, target=target)


def attempt_writes(
    delivery_id: str,
    outcome: Outcome,
    *,
    url: str,
    attempted_at: datetime,
    retry_in: float | None,
    replay: bool = False,
) -> tuple[Write, Write]:
    """An attempt's record: the delivery's move (delivered on 2xx; otherwise pending with
    the next attempt time when `retry_in` is given, else dead; a replay only ever moves it
    to delivered, and nothing moves a delivered one back), then the attempt itself, written
    only while the delivery exists (retention may have removed it meanwhile)."""
    if outcome.delivered:
        move, params = _DELIVERED, {"now": utcnow()}
    elif replay:
        move, params = _REPLAY_FAILED, {}
    else:
        next_attempt_at = utcnow() + timedelta(seconds=retry_in) if retry_in is not None else None
        move = _FAILED
        params = {
            "new_status": PENDING if retry_in is not None else DEAD,
            "next_attempt_at": next_attempt_at,
        }
    common = {
        "delivery_id": delivery_id,
        "status_code": outcome.status_code,
        "error": outcome.error,
    }
    attempt = {
        **common,
        "attempted_at": attempted_at,
        "latency_ms": outcome.latency_ms,
        "headers": outcome.headers,
    }
    return (move, {**common, "url": url, **params}), (_INSERT_ATTEMPT, attempt)


async def record_attempt(session: AsyncSession, writes: tuple[Write, Write]) -> bool:
    """An attempt's record (`attempt_writes`) in the caller's transaction. False when the
    delivery is gone."""
    move, attempt = writes
    if not (await session.execute(*move)).rowcount:
        return False
    await session.execute(*attempt)
    return True


async def stop_delivery(session: AsyncSession, delivery_id: str, reason: str, status: str) -> None:
    """A delivery that cannot go anywhere any more is kept, with the reason."""
    delivery = await repository.delivery(session, delivery_id, for_update=True)
    if delivery is None or delivery.status in (DELIVERED, DISMISSED):
        return
    delivery.status = status
    delivery.last_error = reason
    delivery.next_attempt_at = None


# --- views -----------------------------------------------------------------------------


def _time(moment: datetime | None) -> str | None:
    return rfc3339(moment) if moment is not None else None


def attempt_view(number: int, attempt: CallbackAttempt) -> dict[str, Any]:
    return {
        "number": number,
        "attempt_time": _time(attempt.attempted_at),
        "status_code": attempt.status_code,
        "latency_ms": attempt.latency_ms,
        "error": attempt.error,
        "headers": dict(attempt.headers or {}),
    }


def delivery_view(
    delivery: CallbackDelivery, attempts: list[CallbackAttempt], *, full: bool
) -> dict[str, Any]:
    """A delivery with its attempts (oldest first); `full` adds the body and the headers of
    the last attempt."""
    view: dict[str, Any] = {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "app_id": delivery.app_id,
        "webhook_id": delivery.webhook_id,
        "target": delivery.target,
        "trigger": delivery.trigger,
        "status": delivery.status,
        "attempt_count": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "create_time": _time(delivery.created_at),
        "next_attempt_time": _time(delivery.next_attempt_at),
        "delivered_time": _time(delivery.delivered_at),
        "attempts": [attempt_view(i + 1, a) for i, a in enumerate(attempts)],
    }
    if full:
        view["payload"] = json.loads(delivery.body)
        view["body"] = delivery.body
        view["headers"] = dict(attempts[-1].headers or {}) if attempts else {}
    return view
