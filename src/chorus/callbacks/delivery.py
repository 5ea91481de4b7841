"""One HTTP attempt of a callback: signing, the webhook's OAuth2 token, the POST, the outcome.

Nothing here raises for a failed delivery: every failure (non-2xx, timeout, connection error,
a token endpoint that fails) is an `Outcome` with an error, which the caller records and
schedules a retry for.
"""

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from chorus.callbacks.signing import signing_headers

TIMEOUT_SECONDS = 10.0
EVENT_ID_HEADER = "x-chorus-event-id"
REDACTED = "[redacted]"
TOKEN_TTL_MIN, TOKEN_TTL_MAX, TOKEN_TTL_DEFAULT = 30, 3600, 3600
ERROR_BODY_CHARS = 300


@dataclass(frozen=True)
class Target:
    """Where and how one attempt goes."""

    url: str
    secret: str | None
    client_credentials: dict[str, Any] | None = None
    token_cache_key: str | None = None  # the webhook id


@dataclass
class Outcome:
    status_code: int | None
    latency_ms: float
    error: str | None
    headers: dict[str, str] = field(default_factory=dict)  # as sent, Authorization redacted

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class TokenError(Exception):
    pass


class TokenCache:
    """Bearer tokens of webhooks with `client_credentials`, per process, until they expire
    (`expires_in` clamped to 30–3600 s) or the credentials change. Concurrent attempts to
    one webhook share one token request."""

    def __init__(self) -> None:
        self._tokens: dict[str, tuple[float, str, str]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @staticmethod
    def _fingerprint(credentials: dict[str, Any]) -> str:
        return hashlib.sha256(json.dumps(credentials, sort_keys=True).encode()).hexdigest()

    async def token(self, http: httpx.AsyncClient, key: str, credentials: dict[str, Any]) -> str:
        fingerprint = self._fingerprint(credentials)
        async with self._locks.setdefault(key, asyncio.Lock()):
            cached = self._tokens.get(key)
            if cached is not None and cached[0] > time.monotonic() and cached[2] == fingerprint:
                return cached[1]
            token, ttl = await fetch_token(http, credentials)
            self._tokens[key] = (time.monotonic() + ttl, token, fingerprint)
            return token

    def forget(self, key: str) -> None:
        self._tokens.pop(key, None)


tokens = TokenCache()


async def fetch_token(http: httpx.AsyncClient, credentials: dict[str, Any]) -> tuple[str, int]:
    """Client-credentials grant (RFC 6749 §4.4) at the webhook's token endpoint."""
    form = {"grant_type": "client_credentials"}
    for name in ("scope", "response_type"):
        if (credentials.get(name) or "").strip():
            form[name] = credentials[name]
    auth: tuple[str, str] | None = None
    if str(credentials.get("token_request_type") or "").upper() == "FORM":
        form["client_id"] = credentials["client_id"]
        form["client_secret"] = credentials["client_secret"]
    else:
        auth = (credentials["client_id"], credentials["client_secret"])
    try:
        response = await http.post(
            credentials["endpoint"],
            data=form,
            auth=auth,
            headers={"accept": "application/json"},
            timeout=TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        raise TokenError(describe(exc)) from None
    if not 200 <= response.status_code < 300:
        raise TokenError(f"HTTP {response.status_code}: {response.text[:ERROR_BODY_CHARS]}")
    try:
        answer = response.json()
        token = answer["access_token"]
    except (ValueError, KeyError, TypeError):
        raise TokenError("the answer has no access_token") from None
    if not isinstance(token, str) or not token:
        raise TokenError("the answer has no access_token")
    try:
        ttl = int(answer.get("expires_in", TOKEN_TTL_DEFAULT))
    except (TypeError, ValueError):
        ttl = TOKEN_TTL_DEFAULT
    return token, min(max(ttl, TOKEN_TTL_MIN), TOKEN_TTL_MAX)


def describe(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {TIMEOUT_SECONDS:g} s ({type(exc).__name__})"
    text = str(exc) or repr(exc)
    return f"{type(exc).__name__}: {text}"


async def attempt(http: httpx.AsyncClient, target: Target, body: str, event_id: str) -> Outcome:
    """POST the body once, freshly signed."""
    headers = {
        "content-type": "application/json",
        **signing_headers(body, target.secret),
        EVENT_ID_HEADER: event_id,
    }
    recorded = dict(headers)
    started = time.perf_counter()
    if target.client_credentials:
        key = target.token_cache_key or target.url
        try:
            token = await tokens.token(http, key, target.client_credentials)
        except TokenError as exc:
            return Outcome(None, _since(started), f"token request failed: {exc}", recorded)
        except Exception as exc:  # a malformed endpoint URL, say: still only a failed attempt
            return Outcome(
                None, _since(started), f"token request failed: {describe(exc)}", recorded
            )
        headers["authorization"] = f"Bearer {token}"
        recorded["authorization"] = f"Bearer {REDACTED}"
    try:
        response = await http.post(
            target.url, content=body.encode("utf-8"), headers=headers, timeout=TIMEOUT_SECONDS
        )
    except Exception as exc:
        return Outcome(None, _since(started), describe(exc), recorded)
    latency = _since(started)
    if 200 <= response.status_code < 300:
        return Outcome(response.status_code, latency, None, recorded)
    if response.status_code == 401 and target.client_credentials:
        tokens.forget(target.token_cache_key or target.url)
    error = f"HTTP {response.status_code}"
    if response.text:
        error += f": {response.text[:ERROR_BODY_CHARS]}"
    return Outcome(response.status_code, latency, error, recorded)


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
