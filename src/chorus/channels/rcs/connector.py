"""The RCS connector: Google RCS Business Messaging (CHANNELS.md part 1 §3.3).

`POST {base}/v1/phones/+{msisdn}/agentMessages?messageId={message id}&agentId={agent id}` with
`Authorization: Bearer {access token}`. The message id is chosen by chorus, so the native id
*is* the Conversation API message id and a retried send is idempotent (409 ALREADY_EXISTS means
the earlier send stands). App events (typing) go to `agentEvents` the same way.

The credential's `static_bearer.token` is an OAuth access token sent as is, or a Google
service-account JSON key (a leading `{`) from which access tokens are minted with the
JWT-bearer grant at the key's `token_uri` and cached until shortly before they expire.

Every native error maps by the §3.3 table; 429, 5xx, timeouts and connection errors are
transient (429 honours `Retry-After`). RCS has no sending window and no opt-in step.
"""

import asyncio
import json
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

import httpx

from chorus.channels.base import (
    CAPABILITY_FULL,
    CAPABILITY_PARTIAL,
    CAPABILITY_UNKNOWN,
    Accepted,
    Capability,
    CapabilityQuery,
    ChannelFailure,
    Dispatch,
    capability_reason,
    json_object,
)
from chorus.channels.sms.connector import retry_after
from chorus.wire.messages import ReasonCode

MSISDN = re.compile(r"^[1-9][0-9]{6,14}$")
SCOPE = "https://www.googleapis.com/auth/rcsbusinessmessaging"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
TOKEN_LIFETIME = 3600
TOKEN_MARGIN = 300  # a minted token is renewed this many seconds before it expires

# A 400 INVALID_ARGUMENT is about the recipient when its message names the phone number, and
# about a file when it names a file URL (unreachable, or of a type RBM refuses).
_ABOUT_PHONE = re.compile(r"phone|msisdn|recipient", re.IGNORECASE)
_ABOUT_FILE = re.compile(r"file|thumbnail", re.IGNORECASE)
_UNSUPPORTED_TYPE = re.compile(r"type|mime|format|unsupported", re.IGNORECASE)


def agent_and_token(credential: Mapping[str, Any]) -> tuple[str, str] | None:
    bearer = credential.get("static_bearer") or {}
    agent, token = bearer.get("claimed_identity"), bearer.get("token")
    if not agent or not token:
        return None
    return str(agent), str(token)


class _TokenCache:
    """Access tokens minted from service-account keys, per key (client email + key id)."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}

    async def access_token(self, http: httpx.AsyncClient, secret: str) -> str:
        if not secret.lstrip().startswith("{"):
            return secret
        try:
            key = json.loads(secret)
            email, private_key = key["client_email"], key["private_key"]
        except (ValueError, KeyError, TypeError):
            raise ChannelFailure(
                ReasonCode.CHANNEL_BAD_CONFIGURATION,
                "the RCS token looks like a service-account key but is not one "
                "(client_email and private_key are needed)",
            ) from None
        cache_key = (str(email), str(key.get("private_key_id", "")))
        cached = self._tokens.get(cache_key)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        token, lifetime = await self._mint(http, key, str(email), str(private_key))
        self._tokens[cache_key] = (token, time.time() + max(0, lifetime - TOKEN_MARGIN))
        return token

    async def _mint(
        self, http: httpx.AsyncClient, key: dict[str, Any], email: str, private_key: str
    ) -> tuple[str, int]:
        import jwt

        token_uri = str(key.get("token_uri") or DEFAULT_TOKEN_URI)
        now = int(time.time())
        claims = {
            "iss": email,
            "scope": SCOPE,
            "aud": token_uri,
            "iat": now,
            "exp": now + TOKEN_LIFETIME,
        }
        headers = {"kid": key["private_key_id"]} if key.get("private_key_id") else None
        try:
            assertion = jwt.encode(claims, private_key, algorithm="RS256", headers=headers)
        except (NotImplementedError, ValueError, TypeError) as exc:
            raise ChannelFailure(
                ReasonCode.CHANNEL_BAD_CONFIGURATION,
                f"cannot sign a token request with the service-account key: {exc}",
            ) from None
        try:
            response = await http.post(
                token_uri,
                data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                    "assertion": assertion,
                },
            )
        except httpx.HTTPError as exc:
            raise ChannelFailure(
                ReasonCode.CHANNEL_FAILURE,
                f"the token endpoint is unreachable: {exc!r}",
                transient=True,
            ) from exc
        body = json_object(response)
        if response.status_code == 200 and isinstance(body.get("access_token"), str):
            return body["access_token"], int(body.get("expires_in") or TOKEN_LIFETIME)
        if response.status_code >= 500 or response.status_code == 429:
            raise ChannelFailure(
                ReasonCode.CHANNEL_FAILURE,
                f"the token endpoint answered HTTP {response.status_code}",
                channel_code=str(response.status_code),
                transient=True,
            )
        raise ChannelFailure(
            ReasonCode.CHANNEL_BAD_CONFIGURATION,
            str(body.get("error_description") or body.get("error") or "token request refused"),
            channel_code=str(response.status_code),
        )


TOKENS = _TokenCache()


def duration(seconds: float) -> str:
    """A protobuf Duration as RBM reads it: "1209600s", "90.5s" (never "1.2096e+06s")."""
    return f"{seconds:.9f}".rstrip("0").rstrip(".") + "s"


async def send_agent_message(
    http: httpx.AsyncClient, base_url: str, dispatch: Dispatch
) -> Accepted:
    """Send one AgentMessage (or, for `kind == "event"`, one AgentEvent)."""
    found = agent_and_token(dispatch.credential)
    if found is None:
        raise ChannelFailure(
            ReasonCode.CHANNEL_BAD_CONFIGURATION,
            "the app's RCS credential needs static_bearer.claimed_identity (the agent id) "
            "and token",
        )
    agent_id, secret = found
    if not MSISDN.match(dispatch.identity):
        raise ChannelFailure(
            ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY,
            f"{dispatch.identity!r} is not a valid MSISDN (E.164 digits, no leading +)",
        )
    body = dispatch.transcoded.native
    if not isinstance(body, dict):
        raise ChannelFailure(ReasonCode.BAD_REQUEST, "the RCS payload must be a JSON object")
    token = await TOKENS.access_token(http, secret)
    if dispatch.delivery_timeout is not None and dispatch.kind != "event":
        # RBM stops trying at the ttl; chorus then revokes the message (`revoke_message`).
        body = {**body, "ttl": duration(dispatch.delivery_timeout)}
    if dispatch.kind == "event":
        url = f"{base_url.rstrip('/')}/v1/phones/+{dispatch.identity}/agentEvents"
        params = {"eventId": dispatch.message_id, "agentId": agent_id}
    else:
        url = f"{base_url.rstrip('/')}/v1/phones/+{dispatch.identity}/agentMessages"
        params = {"messageId": dispatch.message_id, "agentId": agent_id}
    try:
        response = await http.post(
            url, params=params, json=body, headers={"Authorization": f"Bearer {token}"}
        )
    except httpx.TimeoutException as exc:
        raise ChannelFailure(
            ReasonCode.CHANNEL_FAILURE, f"RBM timed out: {exc!r}", transient=True
        ) from exc
    except httpx.TransportError as exc:
        raise ChannelFailure(
            ReasonCode.CHANNEL_FAILURE, f"RBM is unreachable: {exc!r}", transient=True
        ) from exc
    if response.status_code == 200:
        return Accepted(native_id=dispatch.message_id)
    if response.status_code == 409 and _status_of(response) in ("ALREADY_EXISTS", "409"):
        return Accepted(native_id=dispatch.message_id)  # sent before: that send stands
    raise failure_from_response(response)


async def revoke_message(
    http: httpx.AsyncClient,
    base_url: str,
    credential: Mapping[str, Any],
    phone: str,
    message_id: str,
) -> bool:
    """`DELETE …/agentMessages/{messageId}` (§3.3): True when revoked (200), False when RBM
    no longer has it to revoke (404: delivered meanwhile)."""
    found = agent_and_token(credential)
    if found is None:
        raise ChannelFailure(
            ReasonCode.CHANNEL_BAD_CONFIGURATION, "the app's RCS credential has no agent id"
        )
    agent_id, secret = found
    token = await TOKENS.access_token(http, secret)
    try:
        response = await http.delete(
            f"{base_url.rstrip('/')}/v1/phones/+{phone}/agentMessages/{message_id}",
            params={"agentId": agent_id},
            headers={"Authorization": f"Bearer {token}"},
        )
    except httpx.TransportError as exc:
        raise ChannelFailure(
            ReasonCode.CHANNEL_FAILURE, f"RBM did not answer: {exc!r}", transient=True
        ) from exc
    if response.status_code == 200:
        return True
    if response.status_code == 404:
        return False
    raise failure_from_response(response)


# The features RBM lists for a fully capable phone (§3.8); fewer means PARTIAL.
ALL_FEATURES = frozenset(
    {
        "RICHCARD_STANDALONE",
        "RICHCARD_CAROUSEL",
        "ACTION_CREATE_CALENDAR_EVENT",
        "ACTION_DIAL",
        "ACTION_OPEN_URL",
        "ACTION_SHARE_LOCATION",
        "ACTION_VIEW_LOCATION",
    }
)
CAPABILITY_ATTEMPTS = 3
CAPABILITY_BACKOFF = 0.5


async def lookup_capability(
    http: httpx.AsyncClient, base_url: str, query: CapabilityQuery
) -> Capability:
    """`GET {base}/v1/phones/+{msisdn}/capabilities?requestId=&agentId=` (§3.8): features →
    FULL or PARTIAL, 404 → NO_CAPABILITY, 401/403 → UNKNOWN (bad configuration), 429/5xx
    and unreachable → retried, then UNKNOWN (channel failure)."""
    found = agent_and_token(query.credential)
    if found is None:
        return Capability(
            CAPABILITY_UNKNOWN,
            reason=capability_reason(
                ReasonCode.CHANNEL_BAD_CONFIGURATION,
                "the app's RCS credential needs static_bearer.claimed_identity and token",
            ),
        )
    agent_id, secret = found
    url = f"{base_url.rstrip('/')}/v1/phones/+{query.identity}/capabilities"
    last = "RBM did not answer"
    last_code: str | None = None
    for attempt in range(CAPABILITY_ATTEMPTS):
        if attempt:
            await asyncio.sleep(CAPABILITY_BACKOFF * 2 ** (attempt - 1))
        try:
            token = await TOKENS.access_token(http, secret)
            response = await http.get(
                url,
                params={"requestId": str(uuid.uuid4()), "agentId": agent_id},
                headers={"Authorization": f"Bearer {token}"},
            )
        except ChannelFailure as failure:
            if not failure.transient:
                return Capability(CAPABILITY_UNKNOWN, reason=failure.reason())
            last, last_code = failure.description, failure.channel_code
            continue
        except httpx.HTTPError as exc:
            last, last_code = f"RBM is unreachable: {exc!r}", None
            continue
        status = response.status_code
        if status == 200:
            features = json_object(response).get("features")
            listed = tuple(str(f) for f in features) if isinstance(features, list) else ()
            full = set(listed) >= ALL_FEATURES
            return Capability(
                CAPABILITY_FULL if full else CAPABILITY_PARTIAL, channel_capabilities=listed
            )
        failure = failure_from_response(response)
        if status == 404:
            return Capability.none(ReasonCode.RECIPIENT_NOT_REACHABLE, failure.description)
        if status in (401, 403):
            return Capability(CAPABILITY_UNKNOWN, reason=failure.reason())
        if status == 429 or status >= 500:
            last, last_code = failure.description, failure.channel_code
            continue
        return Capability(CAPABILITY_UNKNOWN, reason=failure.reason())
    return Capability(
        CAPABILITY_UNKNOWN,
        reason=capability_reason(ReasonCode.CHANNEL_FAILURE, last, last_code),
    )


def failure_from_response(response: httpx.Response) -> ChannelFailure:
    """The §3.3 error table. `channel_code` is the Google status name (`NOT_FOUND`, …), else
    the HTTP status; the description is the error's message."""
    status = response.status_code
    error = json_object(response).get("error")
    error = error if isinstance(error, dict) else {}
    native = _status_of(response)
    text = str(error.get("message") or response.reason_phrase or f"HTTP {status}")

    def failure(code: ReasonCode, **kwargs: Any) -> ChannelFailure:
        return ChannelFailure(code, text, channel_code=native, **kwargs)

    if status == 404:
        return failure(ReasonCode.RECIPIENT_NOT_REACHABLE)
    if status == 400:
        details = json.dumps(error.get("details") or [])
        about = f"{text} {details}"
        if _ABOUT_FILE.search(about):
            if _UNSUPPORTED_TYPE.search(about):
                return failure(ReasonCode.MEDIA_TYPE_UNSUPPORTED)
            return failure(ReasonCode.MEDIA_NOT_REACHABLE)
        if _ABOUT_PHONE.search(about):
            return failure(ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY)
        return failure(ReasonCode.BAD_REQUEST)
    if status in (401, 403):
        return failure(ReasonCode.CHANNEL_BAD_CONFIGURATION)
    if status == 429:
        return failure(
            ReasonCode.RATE_LIMITED,
            transient=True,
            retry_after=retry_after(response.headers.get("retry-after")),
        )
    if status >= 500 or status == 408:
        return failure(
            ReasonCode.CHANNEL_FAILURE,
            transient=True,
            retry_after=retry_after(response.headers.get("retry-after")),
        )
    if 400 <= status < 500:
        return failure(ReasonCode.BAD_REQUEST)
    return failure(ReasonCode.CHANNEL_FAILURE)


def _status_of(response: httpx.Response) -> str:
    error = json_object(response).get("error")
    if isinstance(error, dict) and error.get("status"):
        return str(error["status"])
    return str(response.status_code)
