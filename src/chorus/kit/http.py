"""ASGI plumbing for the wire quirks of the SDKs (API.md §1.1, §1.5), and for text no
database can store."""

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chorus.kit.errors import ApiError, FieldViolation, field_path, invalid


class WireCompatibility:
    """- Query strings are RFC 3986-decoded only: a raw `+` stays a plus (the Node SDK does
      not encode `+46701234567`), so it is escaped before Starlette's form-style parser.
    - A trailing slash is ignored (`/apps/` is `/apps`).
    - The seed's `/v1beta/...` is the same API as `/v1/...` (API.md §1.1)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query: bytes = scope.get("query_string", b"")
            path: str = scope["path"]
            trailing = len(path) > 1 and path.endswith("/")
            beta = path.startswith("/v1beta/")
            if b"+" in query or trailing or beta:
                scope = dict(scope)
                scope["query_string"] = query.replace(b"+", b"%2B")
                if trailing:
                    path = path.rstrip("/")
                if beta:
                    path = "/v1/" + path[len("/v1beta/") :]
                scope["path"] = path
                scope["raw_path"] = path.encode()
        await self.app(scope, receive, send)


# The JSON escapes that may spell text no database can take: NUL, and the surrogate halves
# (a lone one is not Unicode; a pair is one character, decoded whole by the parser).
_SUSPECT_ESCAPES = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Answers in OAuth2's shape, not the API's envelope; a client id it cannot store is simply
# no client it knows (`kit.auth`).
_OWN_ERRORS = frozenset({"/oauth2/token"})
_NUL = "must not contain the NUL character (\\u0000)"
_SURROGATE = "must be valid Unicode (it holds a lone surrogate)"

Problem = tuple[str, str]  # (field, what is wrong with it)


class StorableText:
    """A body past `max_body_bytes` is refused (413) as soon as its `content-length` or its
    chunks say so, before it is held in memory whole (it is read here, before any route,
    for the check below; API callers are known by then, `kit.auth.AuthenticateFirst`).

    Text that cannot be stored is refused at the edge, with where it is, in the error
    envelope: the NUL character (PostgreSQL's text and JSON types have no room for it: a NUL
    anywhere in a request reached the database as a 500 on PostgreSQL, while SQLite kept it)
    and lone surrogates (not Unicode at all), in the path, the query string, and JSON or form
    bodies, for every route (the token endpoint's body excepted: it answers in OAuth2's
    shape) and both databases alike. Percent-escapes decode as UTF-8 with replacement, so
    only a JSON escape can spell a surrogate.

    A request without such an escape costs one scan of its body; only one that has one is
    parsed here, to find where it is (and passes if it was a well-formed pair)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = _in_path(scope["path"]) or _in_form(scope.get("query_string", b""), "query")
        if problem is None and scope["method"] in _BODY_METHODS:
            body, receive = await _buffered(receive, _content_length(scope), self.max_body_bytes)
            if body is None:
                await self._too_large().response()(scope, receive, send)
                return
            if scope["path"] not in _OWN_ERRORS:
                problem = _in_body(body, _content_type(scope))
        if problem is not None:
            await invalid(*problem).response()(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _too_large(self) -> ApiError:
        limit = f"{self.max_body_bytes} bytes"
        return ApiError(
            413,
            f"The request body is larger than {limit} (CHORUS_MAX_REQUEST_BYTES)",
            violations=[FieldViolation("body", f"must be at most {limit}")],
        )


def _flaw(text: str) -> str | None:
    if "\x00" in text:
        return _NUL
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE
    return None


def _in_path(path: str) -> Problem | None:
    return ("path", _NUL) if "\x00" in path else None


def _in_form(encoded: bytes, where: str) -> Problem | None:
    """A query string or a form body (`where`): the parameter whose name or value holds a
    NUL."""
    if b"%00" not in encoded and b"\x00" not in encoded:
        return None
    for name, value in parse_qsl(encoded.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name:
            return where, f"a parameter's name {_NUL}"
        if "\x00" in value:
            return name, _NUL
    return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


def _in_body(body: bytes, content_type: str) -> Problem | None:
    if content_type == "application/x-www-form-urlencoded":
        return _in_form(body, "body")
    if not _SUSPECT_ESCAPES.search(body):
        return None
    try:
        return _in_json(json.loads(body), [])
    except (ValueError, RecursionError):
        return None  # not JSON (or nested past reason): the route says what it makes of it


def _in_json(value: Any, where: list[str | int]) -> Problem | None:
    """The first string (value or key) with a flaw, depth first, as a field path."""
    if isinstance(value, str):
        flaw = _flaw(value)
        return (field_path(where), flaw) if flaw else None
    if isinstance(value, list):
        items: Iterable[tuple[str | int, Any]] = enumerate(value)
    elif isinstance(value, dict):
        for key in value:
            flaw = _flaw(key)
            if flaw:
                return field_path(where), f"a key {flaw}"
        items = value.items()
    else:
        return None
    for key, item in items:
        problem = _in_json(item, [*where, key])
        if problem is not None:
            return problem
    return None


async def _buffered(
    receive: Receive, announced: int | None, limit: int
) -> tuple[bytes | None, Receive]:
    """The whole request body (None when it is longer than `limit`: the rest is not read),
    and a `receive` that hands it to the app as if unread."""
    if announced is not None and announced > limit:
        return None, receive
    chunks: list[bytes] = []
    pending: list[Message] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away: the app will see it
            pending.append(message)
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, receive
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    pending.insert(0, {"type": "http.request", "body": body, "more_body": False})

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return body, replay
