"""`POST /inbound/{channel}/{app_id}`: where channels (and the simulator) call chorus."""

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.apps import repository as apps
from chorus.channels.base import (
    ChannelPlugin,
    HandshakeAnswer,
    InboundItem,
    InboundRejected,
    NativeRequest,
)
from chorus.channels.registry import plugin_for
from chorus.inbound import learned, service
from chorus.kit.auth import project_caller
from chorus.kit.db import ReadSession, WriteSession
from chorus.kit.errors import ApiError, invalid, not_found, try_again
from chorus.kit.pagination import page_request
from chorus.wire.enums import Channel

log = logging.getLogger("chorus.inbound")
router = APIRouter(tags=["inbound"])
# Mounted under /chorus/v1: what chorus kept of the channel requests it refused.
extension = APIRouter(dependencies=[Depends(project_caller)], tags=["inbound (extension)"])
PAGE_DEFAULT, PAGE_MAX = 20, 100


@router.post("/inbound/{channel}/{app_id}")
async def receive(
    channel: str, app_id: str, request: Request, session: AsyncSession = WriteSession
) -> Response:
    try:
        plugin = plugin_for(Channel(channel.upper()))
    except ValueError:
        plugin = None
    if plugin is None:
        raise ApiError(404, f"no inbound endpoint for channel {channel}")
    name = plugin.channel.value
    # The body first: the app lookup opens the write transaction, and on SQLite that holds
    # the one writer until commit. Waiting on a slow sender's body then would stall every
    # writer (in another process too, behind the database lock).
    body = await request.body()
    app = await service.app_for(session, app_id)
    credential = (
        next((c for c in app.channel_credentials if c["channel"] == name), None) if app else None
    )
    native = NativeRequest(
        app_id=app_id,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        query=dict(request.query_params),
        credential=credential or {},
    )
    if app is None:
        # Not kept: it names no app of ours, and anyone can post here.
        return _refused(404, f"no app {app_id} with {name} credentials")
    if credential is None:
        service.record_request(
            session,
            app_id,
            app.project_id,
            name,
            native,
            "rejected",
            f"the app has no {name} credential",
        )
        return _refused(404, f"no app {app_id} with {name} credentials")
    try:
        _verify(plugin, native, credential, simulator_on=request.app.state.settings.simulator)
        native = await _with_learned_id(session, plugin, native)
        items = _parse(plugin, native)
    except InboundRejected as rejected:
        service.record_request(
            session, app_id, app.project_id, name, native, "rejected", rejected.description
        )
        return _refused(rejected.status, rejected.description)
    answers = [item for item in items if isinstance(item, HandshakeAnswer)]
    if answers:
        return PlainTextResponse(answers[0].body)
    try:
        await service.process(
            session,
            app,
            plugin,
            native,
            items,
            stop_keywords=request.app.state.settings.sms_stop_keywords,
        )
    except service.ReportTooEarly as early:
        await session.rollback()
        return try_again(
            503, f"no send with native id {early} is recorded yet; deliver this again", 1
        ).response()
    return JSONResponse({})


@router.get("/inbound/{channel}/{app_id}")
async def handshake(
    channel: str, app_id: str, request: Request, session: AsyncSession = ReadSession
) -> Response:
    """A channel checking the inbound URL before subscribing it (WhatsApp's hub.challenge)."""
    try:
        plugin = plugin_for(Channel(channel.upper()))
    except ValueError:
        plugin = None
    app = await service.app_for(session, app_id) if plugin is not None else None
    credential = (
        next((c for c in app.channel_credentials if c["channel"] == plugin.channel), None)
        if app is not None and plugin is not None
        else None
    )
    answer = (
        plugin.handshake(dict(request.query_params), credential, app_id)
        if plugin is not None and credential is not None
        else None
    )
    if answer is None:
        return _refused(404, f"no inbound endpoint for {channel} and app {app_id}")
    status, text = answer
    return PlainTextResponse(text, status_code=status)


@router.get("/inbound/{channel}/{app_id}/media/{media_id}")
async def media(
    channel: str, app_id: str, media_id: str, request: Request, session: AsyncSession = ReadSession
) -> Response:
    """An inbound media file of a channel that hands out media ids, fetched with the app's
    credential: the URL chorus put in the contact's media_message."""
    try:
        plugin = plugin_for(Channel(channel.upper()))
    except ValueError:
        plugin = None
    app = await service.app_for(session, app_id) if plugin is not None else None
    credential = (
        next((c for c in app.channel_credentials if c["channel"] == plugin.channel), None)
        if app is not None and plugin is not None
        else None
    )
    await session.close()
    if plugin is None or credential is None:
        return _refused(404, f"no {channel} media for app {app_id}")
    runtime = request.app.state.runtime
    base_url = runtime.channel_base_url(plugin.channel, plugin.production_base_url)
    found = await plugin.media(runtime.channels, base_url, credential, media_id)
    if found is None:
        return _refused(404, f"the channel knows no media {media_id}")
    content_type, content = found
    return Response(content, media_type=content_type)


def _verify(
    plugin: ChannelPlugin, native: NativeRequest, credential: dict[str, Any], *, simulator_on: bool
) -> None:
    """The request's signature. Some channels sign what the body holds (RCS: its decoded
    data), so verifying reads the body too: a shape it did not expect is refused as the
    parser's are."""
    with _unreadable_refused(plugin):
        plugin.verify(native, credential, simulator_on=simulator_on)


async def _with_learned_id(
    session: AsyncSession, plugin: ChannelPlugin, native: NativeRequest
) -> NativeRequest:
    """The verified request with the app's own id on a channel whose credential does not
    name it (Messenger's Page id, `inbound/learned.py`); the first such webhook teaches it."""
    key = plugin.learning_key(native.credential)
    if key is None:
        return native
    channel = plugin.channel.value
    known = await learned.learned_id(session, native.app_id, channel, key)
    if known is None:
        with _unreadable_refused(plugin):
            seen = plugin.learnable_id(native)
        if seen and len(seen) <= learned.WIDTH:
            known = await learned.learn(session, native.app_id, channel, key, seen)
    return replace(native, learned_id=known)


def _parse(plugin: ChannelPlugin, native: NativeRequest) -> list[InboundItem]:
    """The webhook's items."""
    with _unreadable_refused(plugin):
        items = plugin.parse_inbound(native)
    service.check_widths(items)
    return items


@contextlib.contextmanager
def _unreadable_refused(plugin: ChannelPlugin) -> Iterator[None]:
    """A verifier or parser that fails on a shape it did not expect (nested past reason,
    say) refuses the request (400, final) instead of answering 500, which the channel would
    retry for days; the failure is logged with its traceback, as a bug of ours."""
    try:
        yield
    except InboundRejected:
        raise
    except Exception as error:
        log.warning("the %s parser failed on a webhook", plugin.channel.value, exc_info=error)
        raise InboundRejected(
            400, f"the {plugin.channel.value} webhook has a shape chorus cannot read"
        ) from error


def _refused(status: int, message: str) -> JSONResponse:
    """Refusals are recorded, so the transaction still commits (no exception)."""
    return ApiError(status, message).response()


@extension.get("/projects/{project_id}/apps/{app_id}/inbound-requests")
async def list_inbound_requests(
    project_id: str,
    app_id: str,
    outcome: str | None = None,
    page_size: int | None = None,
    page_token: str | None = None,
    session: AsyncSession = ReadSession,
) -> dict[str, Any]:
    """The app's channel requests chorus refused (`rejected`), could not map (`unmapped`) or
    acknowledged without effect (`ignored`), newest first: why a channel's webhooks do not
    arrive. Kept 30 days (retention.py)."""
    app = await apps.get(session, project_id, app_id)
    if app is None:
        raise not_found("app", app_id)
    if outcome is not None and outcome not in service.OUTCOMES:
        raise invalid("outcome", f"must be one of {', '.join(service.OUTCOMES)}")
    page = page_request(
        page_size, page_token, default=PAGE_DEFAULT, maximum=PAGE_MAX, app=app_id, outcome=outcome
    )
    kept, token = await service.requests_of_app(session, app_id, outcome, page)
    return {"inbound_requests": [service.request_view(r) for r in kept], "next_page_token": token}
