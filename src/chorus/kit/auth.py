"""Authentication of API calls (API.md §1.3): OAuth2 bearer tokens (JWT, HS256) issued by
`POST /oauth2/token`, and HTTP Basic with the access key itself.

A key belongs to one project: valid credentials on another project's path are 403.
"""

import base64
import re
import time
from dataclasses import dataclass

import jwt
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from chorus.kit.errors import ApiError, try_again
from chorus.projects import service as projects

ALGORITHM = "HS256"
KEY_CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class Caller:
    key_id: str
    project_id: str


def unauthenticated(message: str, *, expired: bool = False) -> ApiError:
    challenge = 'Bearer error="invalid_token"'
    if expired:
        challenge += ', error_description="token expired"'
    return ApiError(401, message, headers={"WWW-Authenticate": challenge})


class Authenticator:
    """Checks credentials. Keys are kept for `key_cache_seconds`, so that neither HTTP Basic
    nor a bearer token costs a query per call: a revoked key (`chorus key revoke`), and the
    tokens issued for it, stop working within that time."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        signing_key: str,
        token_ttl: int,
        key_cache_seconds: float = KEY_CACHE_SECONDS,
    ) -> None:
        self._sessions = sessions
        self._signing_key = signing_key
        self.token_ttl = token_ttl
        self.key_cache_seconds = key_cache_seconds
        # key id -> (until, project id, secret hash)
        self._keys: dict[str, tuple[float, str, str]] = {}

    def issue_token(self, caller: Caller) -> str:
        now = int(time.time())
        claims = {
            "sub": caller.key_id,
            "project_id": caller.project_id,
            "iat": now,
            "exp": now + self.token_ttl,
        }
        return jwt.encode(claims, self._signing_key, algorithm=ALGORITHM)

    async def _key(self, key_id: str) -> tuple[str, str] | None:
        """(project id, secret hash) of a key that exists."""
        if "\x00" in key_id:  # no key has one, and PostgreSQL cannot even compare it
            return None
        cached = self._keys.get(key_id)
        if cached is None or cached[0] < time.monotonic():
            async with self._sessions() as session:
                key = await projects.get_key(session, key_id)
            if key is None:
                self._keys.pop(key_id, None)
                return None
            cached = (time.monotonic() + self.key_cache_seconds, key.project_id, key.secret_hash)
            self._keys[key_id] = cached
        return cached[1], cached[2]

    async def check_key(self, key_id: str, key_secret: str) -> Caller | None:
        found = await self._key(key_id)
        if found is None or not projects.secret_matches(key_secret, found[1]):
            return None
        return Caller(key_id=key_id, project_id=found[0])

    async def check_token(self, token: str) -> Caller:
        try:
            claims = jwt.decode(
                token, self._signing_key, algorithms=[ALGORITHM], options={"require": ["exp"]}
            )
        except jwt.ExpiredSignatureError:
            raise unauthenticated("Access token expired", expired=True) from None
        except jwt.PyJWTError:
            raise unauthenticated("Access token is invalid") from None
        caller = Caller(key_id=str(claims.get("sub", "")), project_id=str(claims.get("project_id")))
        found = await self._key(caller.key_id)
        if found is None or found[0] != caller.project_id:
            raise unauthenticated("Access token of an access key that was revoked")
        return caller

    async def authenticate(self, authorization: str | None) -> Caller:
        if not authorization:
            raise unauthenticated("Missing Authorization header: use a Bearer token or Basic auth")
        scheme, _, value = authorization.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and value.strip():
            return await self.check_token(value.strip())
        if scheme == "basic":
            key_id, key_secret = decode_basic(value.strip())
            caller = await self.check_key(key_id, key_secret)
            if caller is None:
                raise unauthenticated("Unknown access key or wrong secret")
            return caller
        raise unauthenticated("Unsupported Authorization scheme: use Bearer or Basic")


def decode_basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except ValueError:  # not base64 (binascii.Error), not ASCII, not UTF-8 once decoded
        raise unauthenticated("Malformed Basic credentials") from None
    key_id, sep, key_secret = decoded.partition(":")
    if not sep or not key_id:
        raise unauthenticated("Malformed Basic credentials")
    return key_id, key_secret


async def authenticator(request: Request) -> Authenticator:
    return request.app.state.authenticator


async def project_caller(project_id: str, request: Request) -> Caller:
    """The dependency of every `/v1/projects/{project_id}/...` route: who calls, whether
    the key may use this project, and whether the project is within its request rate.
    A request with a body was asked before its body was read (`AuthenticateFirst`)."""
    first: Caller | None = request.scope.get("state", {}).get(_CALLER)
    if first is not None and first.project_id == project_id:
        return first
    return await _checked_caller(project_id, request)


async def _checked_caller(project_id: str, request: Request) -> Caller:
    auth: Authenticator = request.app.state.authenticator
    caller = await auth.authenticate(request.headers.get("authorization"))
    if caller.project_id != project_id:
        raise ApiError(403, f"The access key is not authorised for project {project_id}")
    wait = await request.app.state.request_limiter.retry_after(project_id)
    if wait > 0:
        seconds = f"{wait:.3f}".rstrip("0").rstrip(".")
        raise try_again(
            429, f"Project {project_id} is over its request rate; retry in {seconds}s", wait
        )
    return caller


_CALLER = "chorus_caller"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_PROJECT_PATH = re.compile(r"^/(?:v1|v2|chorus/v1)/projects/([^/]+)(?:/|$)")


class AuthenticateFirst:
    """Who calls is settled before a body is read: FastAPI parses a route's JSON body before
    its dependencies run, so without this a malformed body got a 400 where missing or
    foreign credentials are a 401 or 403 (API.md §1.3.3), and a stranger's body was read
    (and checked, `kit.http.StorableText`) before anyone knew who sent it. Requests without
    a body are left to `project_caller` (the console's event stream authenticates itself)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in _BODY_METHODS:
            match = _PROJECT_PATH.match(scope["path"])
            if match is not None:
                try:
                    caller = await _checked_caller(match.group(1), Request(scope))
                except ApiError as error:
                    await error.response()(scope, receive, send)
                    return
                scope.setdefault("state", {})[_CALLER] = caller
        await self.app(scope, receive, send)
