"""`POST /inbound/{channel}/{app_id}`: where channels (and the simulator) call chorus."""

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.channels.base import (
    ChannelPlugin,
    HandshakeAnswer,
    InboundItem,
    InboundRejected,
    NativeRequest,
)
from chorus.channels.registry import plugin_for
from chorus.inbound import service
from chorus.kit.db import ReadSession, WriteSession
from chorus.kit.errors import ApiError
from chorus.wire.enums import Channel

log = logging.getLogger("chorus.inbound")
router = APIRouter(tags=["inbound"])


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
        plugin.verify(native, credential, simulator_on=request.app.state.settings.simulator)
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
        return ApiError(
            503,
            f"no send with native id {early} is recorded yet; deliver this again",
            headers={"Retry-After": "1"},
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


def _parse(plugin: ChannelPlugin, native: NativeRequest) -> list[InboundItem]:
    """The webhook's items. A parser that fails on a shape it did not expect refuses the
    request (400, final) instead of answering 500, which the channel would retry for days;
    the failure is logged with its traceback, as a parser's bug."""
    try:
        items = plugin.parse_inbound(native)
    except InboundRejected:
        raise
    except Exception as error:
        log.warning("the %s parser failed on a webhook", plugin.channel.value, exc_info=error)
        raise InboundRejected(
            400, f"the {plugin.channel.value} webhook has a shape chorus cannot read"
        ) from error
    service.check_widths(items)
    return items


def _refused(status: int, message: str) -> JSONResponse:
    """Refusals are recorded, so the transaction still commits (no exception)."""
    return ApiError(status, message).response()
