"""What the console serves: the page and its files, the local-mode sign-in, a live stream of
changes (`/console/api/...`), and the extension endpoints the pages need beyond the public
API (status histories, under `/chorus/v1`)."""

import asyncio
import hashlib
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.config import Settings
from chorus.console import repository
from chorus.kit.auth import Caller, project_caller, unauthenticated
from chorus.kit.db import ReadSession
from chorus.kit.errors import ApiError, not_found

STATIC = Path(__file__).parent / "static"
# How often the stream looks for changes, and how long one stream lasts before the browser
# reconnects (EventSource does so by itself): short streams never hold a shutdown up for long.
POLL_SECONDS = 0.5
STREAM_SECONDS = 10.0

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def names_loopback(authority: str) -> bool:
    """Whether a Host header's or an Origin's host is a loopback name (any port)."""
    try:
        host = urlsplit(authority if "//" in authority else f"//{authority}").hostname
    except ValueError:  # "[::1", an unclosed bracket
        return False
    return host in LOOPBACK


pages = APIRouter(include_in_schema=False)
local = APIRouter(include_in_schema=False)
extension = APIRouter(tags=["console (extension)"])


@pages.get("/")
async def root() -> RedirectResponse:
    return RedirectResponse("/console/")


@pages.get("/console")
async def console_page() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


@local.get("/console/session")
async def local_session(request: Request) -> dict[str, Any]:
    """Local mode only: a token for the dev project (or the bootstrap project), so the
    console opens signed in. Only for a browser on the same machine (a server listening on
    every interface does not hand a token to its network); not mounted in the production
    profile.

    A loopback client is not enough: a page of another site whose name resolves to
    127.0.0.1 (DNS rebinding) reaches this server from the same browser. So the Host must
    name this machine too, and a request that says it comes from another site is refused."""
    settings: Settings = request.app.state.settings
    client = request.client.host if request.client else ""
    if client not in LOOPBACK or not names_loopback(request.headers.get("host", "")):
        raise ApiError(
            403,
            "The local sign-in is offered only to a browser on this machine, at localhost "
            "or 127.0.0.1; sign in with an access key",
        )
    origin = request.headers.get("origin")
    if request.headers.get("sec-fetch-site") == "cross-site" or (
        origin is not None and not names_loopback(origin)
    ):
        raise ApiError(
            403,
            "The local sign-in is not offered to another site's pages; sign in with an access key",
        )
    async with request.app.state.db.read_sessions() as session:
        found = await repository.local_project(session, settings.bootstrap_project_id)
    if found is None:
        raise not_found("project", "dev")
    project_id, key_id = found
    auth = request.app.state.authenticator
    return {
        "project_id": project_id,
        "access_token": auth.issue_token(Caller(key_id=key_id, project_id=project_id)),
        "expires_in": auth.token_ttl,
    }


@extension.get(
    "/projects/{project_id}/conversations/{conversation_id}/statuses",
    dependencies=[Depends(project_caller)],
)
async def conversation_statuses(
    project_id: str, conversation_id: str, session: AsyncSession = ReadSession
) -> dict[str, Any]:
    """Each message's status history, `{"statuses": {message_id: [{status, channel,
    reason, at}]}}`, oldest first (fallbacks show as SWITCHING_CHANNEL with their reason),
    and each app event's, `{"events": {event_id: [{status, channel, reason, at}]}}`."""
    if not await repository.conversation_exists(session, project_id, conversation_id):
        raise not_found("conversation", conversation_id)
    return {
        "statuses": await repository.statuses_of_conversation(session, project_id, conversation_id),
        "events": await repository.event_statuses_of_conversation(
            session, project_id, conversation_id
        ),
    }


@extension.get(
    "/projects/{project_id}/messages/{message_id}/statuses",
    dependencies=[Depends(project_caller)],
)
async def message_statuses(
    project_id: str, message_id: str, session: AsyncSession = ReadSession
) -> dict[str, Any]:
    history = await repository.statuses_of_message(session, project_id, message_id)
    if history is None:
        raise not_found("message", message_id)
    return {"statuses": history}


# Not under /chorus/: a stream is open as long as a console tab is, and the paths of the API
# count as client load while a request is in flight (the in-process worker yields to them).
@pages.get("/console/api/projects/{project_id}/stream")
async def stream(project_id: str, request: Request, access_token: str = "") -> StreamingResponse:
    """Server-sent events: `cursors` on connect and whenever messages (and their statuses),
    webhook deliveries, simulated handsets (their inboxes and settings), apps or webhooks,
    or contacts change. EventSource cannot send
    headers, so the bearer token comes in the query (or the Authorization header, for other
    clients)."""
    auth = request.app.state.authenticator
    header = request.headers.get("authorization")
    if access_token:
        caller = await auth.check_token(access_token)
    elif header:
        caller = await auth.authenticate(header)
    else:
        raise unauthenticated("Missing access_token")
    if caller.project_id != project_id:
        raise ApiError(403, f"The access key is not authorised for project {project_id}")
    return StreamingResponse(
        _changes(request, project_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _changes(request: Request, project_id: str) -> AsyncIterator[str]:
    sessions = request.app.state.db.read_sessions
    yield "retry: 500\n\n"
    last: dict[str, Any] | None = None
    ends = time.monotonic() + STREAM_SECONDS
    while time.monotonic() < ends and not server_exiting() and not await request.is_disconnected():
        async with sessions() as session:
            current = await repository.cursors(session)
        now = {
            kind: opaque(project_id, values)
            for kind, values in (
                ("messages", current.messages),
                ("deliveries", current.deliveries),
                ("handsets", current.handsets),
                ("apps", current.apps),
                ("contacts", current.contacts),
            )
        }
        if now != last:
            yield f"event: cursors\ndata: {json.dumps(now)}\n\n"
            last = now
        await asyncio.sleep(POLL_SECONDS)


def server_exiting() -> bool:
    """Whether uvicorn is shutting down. It waits for open responses before it stops, so a
    stream ends as soon as it is asked to exit: the handler uvicorn installs for SIGTERM and
    SIGINT is a method of its server, whose `should_exit` says so (read here, never changed).
    Elsewhere (another server, a worker thread) this is simply false."""
    server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    return bool(getattr(server, "should_exit", False))


def opaque(project_id: str, values: tuple[Any, ...]) -> str:
    """A cursor as the browser sees it: it changes when the rows do, and reveals nothing."""
    return hashlib.sha256(f"{project_id}|{values!r}".encode()).hexdigest()[:16]


def install_console(app: FastAPI, settings: Settings) -> None:
    """Mount the console on the application (the simulator's sign-in only in local mode)."""
    app.include_router(pages)
    if settings.simulator:
        app.include_router(local)
    app.include_router(extension, prefix="/chorus/v1")
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
