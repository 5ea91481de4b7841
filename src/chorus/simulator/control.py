"""The simulator's control API, `/simulator/v1/...` (DESIGN.md, "Interfaces that scripts rely
on"): list handsets, read one with its inbox, change its settings, make it send a message.

Local mode only (the router is not mounted with `CHORUS_SIMULATOR=off`), so no credentials.
Errors use the API's envelope.
"""

import logging
from typing import Any

import httpx
from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.apps import repository as apps
from chorus.kit.db import ReadSession
from chorus.kit.errors import (
    ApiError,
    FieldViolation,
    describe_validation_error,
    invalid,
    invalid_fields,
    not_found,
)
from chorus.kit.ids import new_id
from chorus.models import App
from chorus.runtime import Runtime
from chorus.simulator import repository
from chorus.simulator.base import SEND_REPORT, encode, parse_json, queue_webhook
from chorus.simulator.handsets import (
    channel_from_path,
    handset_summary,
    handset_view,
    identity_from_path,
    settings_of,
    validated_changes,
)
from chorus.simulator.registry import simulator_for
from chorus.wire.enums import Channel
from chorus.wire.messages import ContactMessage

log = logging.getLogger("chorus.simulator")

router = APIRouter(prefix="/simulator/v1", tags=["simulator"])

# The top-level keys of a handset message: the app, and a contact message.
MESSAGE_KEYS = frozenset({"app_id", *ContactMessage.model_fields})


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise invalid("body", "a JSON object is required")
    try:
        return parse_json(raw)
    except ValueError:
        raise ApiError(400, "Malformed JSON in request body") from None


@router.get("/handsets")
async def list_handsets(
    channel: str | None = None, session: AsyncSession = ReadSession
) -> dict[str, Any]:
    name = None
    if channel:
        try:
            Channel(channel.upper())
        except ValueError:
            raise invalid("channel", f"unknown channel {channel!r}") from None
        # A channel that is not simulated has no handsets: 404 as on its path.
        name = channel_from_path(channel).value
    handsets = await repository.list_handsets(session, name)
    return {"handsets": [handset_summary(h) for h in handsets]}


@router.get("/handsets/{channel}/{identity:path}")
async def get_handset(
    channel: str, identity: str, session: AsyncSession = ReadSession
) -> dict[str, Any]:
    simulated = channel_from_path(channel)
    number = identity_from_path(simulated, identity)
    handset = await repository.get_handset(session, simulated, number)
    if handset is None:
        raise not_found("handset", f"{simulated.value.lower()}/{number}")
    inbox = await repository.inbox(session, simulated, number)
    return handset_view(handset, list(inbox))


@router.patch("/handsets/{channel}/{identity:path}")
async def update_handset(channel: str, identity: str, request: Request) -> dict[str, Any]:
    """Changes settings. On VIBER and VIBERBM a change of `subscribed` is the user
    (un)subscribing, so the channel's callback about it is queued to the app, durably, in the
    same transaction: `app_id` in the body names the app, and may be left out when only one
    app holds a credential of the channel (none: nothing is posted)."""
    simulated = channel_from_path(channel)
    number = identity_from_path(simulated, identity)
    simulator = simulator_for(simulated)
    assert simulator is not None  # channel_from_path admits simulated channels only
    body = await json_body(request)
    app_id: str | None = None
    if simulator.reports_subscription and isinstance(body, dict) and "app_id" in body:
        body = dict(body)
        app_id = body.pop("app_id")
        if not isinstance(app_id, str) or not app_id:
            raise invalid("app_id", "must be the id of an app")
    changes = validated_changes(simulated, body)
    runtime: Runtime = request.app.state.runtime
    async with runtime.db.write_sessions() as session:
        named = await subscription_app(session, simulated, app_id) if app_id else None
        handset = await repository.handset_for_update(session, simulated, number)
        was_subscribed = settings_of(handset)["subscribed"]
        handset.settings = {**handset.settings, **changes}
        subscribed = changes.get("subscribed", was_subscribed)
        if simulator.reports_subscription and subscribed != was_subscribed:
            app = named or await only_subscription_app(session, simulated)
            callback = simulator.subscription_callback(app, number, subscribed) if app else None
            if app is not None and callback is not None:
                native, context = callback
                # The handset's own record of it, as for a message it sent; the report job
                # fills in chorus's answer.
                entry_id = await repository.add_sent(
                    session,
                    simulated,
                    number,
                    native_id=str(native.get("message_token", "")),
                    text=f"({'subscribed to' if subscribed else 'unsubscribed from'} "
                    f"{app.display_name or app.id})",
                    request=native,
                    status="queued",
                )
                await queue_webhook(
                    session,
                    app,
                    simulated,
                    runtime.inbound_url(simulated, app.id),
                    native,
                    dedup_key=f"{SEND_REPORT}:subscription:{new_id()}",
                    context=context,
                    ordering_key=f"{SEND_REPORT}:subscription:{simulated.value}:{number}",
                    inbox_entry=entry_id,
                )
        await session.flush()
        inbox = await repository.inbox(session, simulated, number)
        view = handset_view(handset, list(inbox))
        await session.commit()
    return view


async def subscription_app(session: AsyncSession, channel: Channel, app_id: str) -> App:
    """The app a PATCH's `app_id` names: it must hold a credential of the channel."""
    app = await apps.by_id(session, app_id)
    if app is None:
        raise invalid("app_id", f"unknown app {app_id!r}")
    if not holds_credential(app, channel):
        raise invalid("app_id", f"app {app_id} has no {channel.value} credential")
    return app


def holds_credential(app: App, channel: Channel) -> bool:
    return any(c.get("channel") == channel for c in app.channel_credentials or [])


async def only_subscription_app(session: AsyncSession, channel: Channel) -> App | None:
    """The one app holding a credential of the channel; None when no app does. Several
    make `app_id` necessary."""
    apps = await repository.apps_with_channel(session, channel.value)
    if len(apps) > 1:
        raise invalid(
            "app_id",
            f"is required to change `subscribed`: {len(apps)} apps hold a {channel.value} "
            "credential",
        )
    return apps[0] if apps else None


@router.post("/handsets/{channel}/{identity:path}/messages")
async def send_from_handset(channel: str, identity: str, request: Request) -> dict[str, Any]:
    """The handset sends a contact message to an app: the simulator builds the channel's
    native inbound webhook, posts it to chorus as the channel would (authenticated as the
    channel authenticates), and answers with the payload and chorus's HTTP status. The app
    must hold a credential of the channel. A `reply_to {message_id}` (WhatsApp, Messenger,
    VIBERBM) names a chorus message the handset received; the webhook quotes it by the
    channel's id for it (as a WhatsApp choice response quotes the message it taps)."""
    simulated = channel_from_path(channel)
    number = identity_from_path(simulated, identity)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object")
    # Refused, as a PATCH refuses them, rather than ignored as the API ignores them: a
    # misspelt key would otherwise be a message other than the one meant.
    unknown = [key for key in body if key not in MESSAGE_KEYS]
    if unknown:
        known = ", ".join(sorted(MESSAGE_KEYS))
        raise invalid_fields(
            [
                FieldViolation(key, f"is not a handset message field (known: {known})")
                for key in unknown
            ]
        )
    app_id = body.get("app_id")
    if not isinstance(app_id, str) or not app_id:
        raise invalid("app_id", "is required")
    try:
        message = ContactMessage.model_validate(
            {key: value for key, value in body.items() if key != "app_id"}
        )
    except ValidationError as exc:
        raise invalid_fields([describe_validation_error(e) for e in exc.errors()]) from None
    simulator = simulator_for(simulated)
    assert simulator is not None  # channel_from_path admits simulated channels only
    if message.reply_to is not None and not simulator.replies_in_context:
        raise invalid("reply_to", f"a {simulated.value} message carries no reply context")
    runtime: Runtime = request.app.state.runtime
    replied: str | None = None
    quoted = simulator.quoted_message(message)
    async with runtime.db.read_sessions() as session:
        app = await apps.by_id(session, app_id)
        if quoted is not None:
            replied = await repository.received_native_id(session, simulated, number, quoted[1])
    if app is None:
        raise not_found("app", app_id)
    if not holds_credential(app, simulated):
        # The channel would not know where to post it; chorus would answer 404.
        raise invalid("app_id", f"app {app_id} has no {simulated.value} credential")
    if quoted is not None and replied is None:
        raise invalid(quoted[0], "is no message this handset received")
    sent = simulator.handset_message(app, number, message)
    if replied is not None:
        # The handset quotes the message by the channel's id for it, as the channel does.
        simulator.add_reply_context(sent.native, replied)
    native, text = sent.native, sent.text
    body = encode(native)

    # Committed before chorus is called: chorus's inbound handling writes too.
    async with runtime.db.write_sessions() as session:
        await repository.handset_for_update(session, simulated, number)
        entry_id = await repository.add_sent(
            session,
            simulated,
            number,
            native_id=sent.native_id,
            text=text,
            request=native,
            status="sending",
        )
        await session.commit()

    status_code: int | None
    try:
        headers = {"content-type": "application/json"}
        headers.update(simulator.webhook_headers(app, body, {}))
        response = await runtime.http.post(
            runtime.inbound_url(simulated, app.id), content=body, headers=headers
        )
        status_code = response.status_code
    except httpx.HTTPError as exc:
        log.warning("posting a simulated %s message to chorus failed: %r", simulated, exc)
        status_code = None

    async with runtime.db.write_sessions() as session:
        await repository.set_message_status(
            session, entry_id, str(status_code) if status_code is not None else "unreachable"
        )
        await session.commit()
    return {"native": native, "status_code": status_code}
