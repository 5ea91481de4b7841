"""The VIBERBM connector: the chorus-owned native API (CHANNELS.md part 2 §2.3, Decision 8).

`POST {base}/viberbm/v1/services/{service_id}/messages` with `Authorization: Bearer {token}`,
both from the app's `static_bearer` credential. There is no production host: without
`CHORUS_VIBERBM_BASE_URL` (and with the simulator off) the send fails with
CHANNEL_BAD_CONFIGURATION.

Before any call: an invalid MSISDN fails with RECIPIENT_INVALID_CHANNEL_IDENTITY, and on a
`session` account outside the identity's 24-hour session (§2.6, Decision 4) the send fails
with OUTSIDE_ALLOWED_SENDING_WINDOW. `message_class` is `session` while the session is open,
`promotional` for CONTENT_MARKETING, else `transactional`; `ttl` is the message's remaining
ttl (30 s – 14 days), default 86400. On `session` accounts only `text` and `image` exist: a
card goes as its image then its text, a file or video as a text with its link (parts, sent in
order, `channels.base.send_in_parts`; every part's id is stored, and every part carries the
message id as `client_ref`, which the channel's reports echo).
"""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import httpx

from chorus.channels.base import (
    Accepted,
    ChannelFailure,
    Dispatch,
    json_object,
    send_in_parts,
)
from chorus.channels.sms.connector import MSISDN, retry_after
from chorus.channels.viberbm.transcode import (
    DEFAULT_TTL,
    MAX_TTL,
    MIN_TTL,
    TRANSACTIONAL,
    ViberBmTranscoded,
)
from chorus.kit.clock import utcnow
from chorus.wire.messages import ReasonCode

SESSION_LENGTH = timedelta(hours=24)
ACCOUNT_TYPES = ("1way", "2way", "session")
DEFAULT_ACCOUNT_TYPE = "2way"
SESSION_TYPES = frozenset({"text", "image"})

# The §2.3 error table: native error.code → (reason, transient).
ERROR_REASONS: dict[str, tuple[ReasonCode, bool]] = {
    "INVALID_RECEIVER": (ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY, False),
    "NOT_VIBER_USER": (ReasonCode.RECIPIENT_NOT_REACHABLE, False),
    "UNSUPPORTED_DEVICE": (ReasonCode.RECIPIENT_NOT_REACHABLE, False),
    "USER_BLOCKED": (ReasonCode.RECIPIENT_NOT_OPTED_IN, False),
    "OPTED_OUT": (ReasonCode.RECIPIENT_NOT_OPTED_IN, False),
    "NO_SESSION": (ReasonCode.OUTSIDE_ALLOWED_SENDING_WINDOW, False),
    "MEDIA_TYPE_UNSUPPORTED": (ReasonCode.MEDIA_TYPE_UNSUPPORTED, False),
    "MEDIA_TOO_LARGE": (ReasonCode.MEDIA_TOO_LARGE, False),
    "MEDIA_NOT_REACHABLE": (ReasonCode.MEDIA_NOT_REACHABLE, False),
    "INVALID_REQUEST": (ReasonCode.BAD_REQUEST, False),
    "UNAUTHORIZED": (ReasonCode.CHANNEL_BAD_CONFIGURATION, False),
    "UNKNOWN_SERVICE": (ReasonCode.CHANNEL_BAD_CONFIGURATION, False),
    "SERVICE_SUSPENDED": (ReasonCode.CHANNEL_BAD_CONFIGURATION, False),
    "THROTTLED": (ReasonCode.RATE_LIMITED, True),
    "INTERNAL": (ReasonCode.CHANNEL_FAILURE, True),
}
# The HTTP status the API answers each code with (the simulator uses it too).
ERROR_STATUS: dict[str, int] = {
    "INVALID_RECEIVER": 400,
    "INVALID_REQUEST": 400,
    "UNAUTHORIZED": 401,
    "SERVICE_SUSPENDED": 403,
    "UNKNOWN_SERVICE": 404,
    "THROTTLED": 429,
    "INTERNAL": 500,
    **{
        code: 422
        for code in (
            "NOT_VIBER_USER",
            "UNSUPPORTED_DEVICE",
            "USER_BLOCKED",
            "OPTED_OUT",
            "NO_SESSION",
            "MEDIA_TYPE_UNSUPPORTED",
            "MEDIA_TOO_LARGE",
            "MEDIA_NOT_REACHABLE",
        )
    },
}


def reason_for(native_code: str) -> tuple[ReasonCode, bool]:
    """(reason, transient) of a native error code; unknown codes are channel failures."""
    return ERROR_REASONS.get(native_code, (ReasonCode.CHANNEL_FAILURE, False))


def service(credential: Mapping[str, Any]) -> tuple[str, str] | None:
    """(service id, token) of the credential; the token may be empty (toward the simulator)."""
    bearer = credential.get("static_bearer") or {}
    service_id = bearer.get("claimed_identity")
    if not service_id:
        return None
    return str(service_id), str(bearer.get("token") or "")


def account_type(credential: Mapping[str, Any]) -> str:
    """The service's account type (§2.2): told to chorus with the credential, default 2way."""
    value = str(credential.get("account_type") or DEFAULT_ACCOUNT_TYPE).lower()
    return value if value in ACCOUNT_TYPES else DEFAULT_ACCOUNT_TYPE


def session_open(dispatch: Dispatch) -> bool:
    last = dispatch.last_inbound_at
    return last is not None and utcnow() - last < SESSION_LENGTH


def message_class(dispatch: Dispatch) -> str:
    if session_open(dispatch):
        return "session"
    # `message_content_type` of the send; Dispatch does not carry it yet (see the report).
    if getattr(dispatch, "message_content_type", None) == "CONTENT_MARKETING":
        return "promotional"
    return TRANSACTIONAL


def ttl(dispatch: Dispatch) -> int:
    if dispatch.ttl_seconds is None:
        return DEFAULT_TTL
    return int(min(MAX_TTL, max(MIN_TTL, dispatch.ttl_seconds)))


def native_parts(dispatch: Dispatch) -> list[dict[str, Any]]:
    """The bodies to send, in order (one, except for a card/file/video on a session account).
    Raises ChannelFailure for what fails without a call."""
    if not MSISDN.match(dispatch.identity):
        raise ChannelFailure(
            ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY,
            f"{dispatch.identity!r} is not a valid MSISDN (E.164 digits, no leading +)",
        )
    kind = account_type(dispatch.credential)
    if kind == "session" and dispatch.enforce_windows and not session_open(dispatch):
        raise ChannelFailure(
            ReasonCode.OUTSIDE_ALLOWED_SENDING_WINDOW,
            "the Viber Business service is a session account and this identity has no open "
            "24-hour session (no inbound message from it in the last 24 hours)",
        )
    transcoded = dispatch.transcoded
    native = transcoded.native
    if not isinstance(native, dict):
        raise ChannelFailure(ReasonCode.BAD_REQUEST, "the VIBERBM body must be a JSON object")
    fixed = transcoded.fixed if isinstance(transcoded, ViberBmTranscoded) else frozenset()
    body = dict(native)
    body["client_ref"] = dispatch.message_id
    body["receiver"] = dispatch.identity
    if "message_class" not in fixed:
        body["message_class"] = message_class(dispatch)
    if "ttl" not in fixed:
        body["ttl"] = ttl(dispatch)
    if kind == "session" and body.get("type") not in SESSION_TYPES:
        return session_parts(body)
    return [body]


def session_parts(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A card, file or video as a session account can carry it: text and image only."""
    common = {key: body[key] for key in ("client_ref", "receiver", "message_class", "ttl")}
    kind = body.get("type")
    if kind == "card":
        button = body.get("button") or {}
        link = button.get("url") or button.get("phone_number")
        lines = [body.get("text"), f"{button['caption']}: {link}" if button and link else None]
        parts = [{**common, "type": "image", "image_url": body.get("image_url")}]
        text = "\n".join(line for line in lines if line)
        if text:
            parts.append({**common, "type": "text", "text": text})
        return parts
    if kind == "video":
        return [{**common, "type": "text", "text": (body.get("video") or {}).get("url", "")}]
    if kind == "file":
        return [{**common, "type": "text", "text": (body.get("file") or {}).get("url", "")}]
    return [body]


async def send_message(http: httpx.AsyncClient, base_url: str, dispatch: Dispatch) -> Accepted:
    credential = service(dispatch.credential)
    if credential is None:
        raise ChannelFailure(
            ReasonCode.CHANNEL_BAD_CONFIGURATION,
            "the app's VIBERBM credential has no service id (static_bearer.claimed_identity)",
        )
    if not base_url:
        raise ChannelFailure(
            ReasonCode.CHANNEL_BAD_CONFIGURATION,
            "VIBERBM has no public API host: set CHORUS_VIBERBM_BASE_URL to the provider adapter",
        )
    service_id, token = credential
    parts = native_parts(dispatch)
    url = f"{base_url.rstrip('/')}/viberbm/v1/services/{service_id}/messages"
    headers = {"Authorization": f"Bearer {token}"}
    return await send_in_parts(parts, lambda part: _post(http, url, part, headers))


async def _post(
    http: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]
) -> str:
    """The part's native id."""
    try:
        response = await http.post(url, json=body, headers=headers)
    except httpx.TimeoutException as exc:
        raise ChannelFailure(
            ReasonCode.CHANNEL_FAILURE, f"the VIBERBM API timed out: {exc!r}", transient=True
        ) from exc
    except httpx.TransportError as exc:
        raise ChannelFailure(
            ReasonCode.CHANNEL_FAILURE, f"the VIBERBM API is unreachable: {exc!r}", transient=True
        ) from exc
    if 200 <= response.status_code < 300:
        native_id = json_object(response).get("id")
        if isinstance(native_id, str) and native_id:
            return native_id
        raise ChannelFailure(
            ReasonCode.CHANNEL_FAILURE,
            "the VIBERBM API accepted the message but returned no id",
            channel_code=str(response.status_code),
            transient=True,
        )
    raise failure_from_response(response)


def failure_from_response(response: httpx.Response) -> ChannelFailure:
    """The §2.3 table by `error.code`; without one, by HTTP status (5xx, 408 and 429
    transient)."""
    status = response.status_code
    error = json_object(response).get("error")
    error = error if isinstance(error, dict) else {}
    native_code = str(error.get("code") or "")
    text = str(error.get("message") or response.reason_phrase or f"HTTP {status}")
    wait = retry_after(response.headers.get("retry-after"))
    if native_code in ERROR_REASONS:
        code, transient = ERROR_REASONS[native_code]
    elif status == 429:
        code, transient = ReasonCode.RATE_LIMITED, True
    elif status >= 500 or status == 408:
        code, transient = ReasonCode.CHANNEL_FAILURE, True
    elif status in (401, 403, 404):
        code, transient = ReasonCode.CHANNEL_BAD_CONFIGURATION, False
    elif 400 <= status < 500:
        code, transient = ReasonCode.BAD_REQUEST, False
    else:
        code, transient = ReasonCode.CHANNEL_FAILURE, False
    return ChannelFailure(
        code,
        text,
        channel_code=native_code or str(status),
        transient=transient,
        retry_after=wait if transient else None,
    )
