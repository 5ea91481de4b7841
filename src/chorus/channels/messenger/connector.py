"""The Messenger connector: the Messenger Platform Send API (CHANNELS.md part 2 §1.3, §1.6).

`POST {base}/me/messages` with `Authorization: Bearer {page_token}` (the credential's
`static_token.token`), one call per part, in order. What chorus decides without Meta fails
before any call: a credential without a token, a PSID that is not `^[0-9]{1,32}$`, and — when
windows are enforced — a message outside the 24-hour standard messaging window (7 days with
the `HUMAN_AGENT` tag; the other tags have no limit). Meta's errors map by `(code,
error_subcode)`, then `code`, then the HTTP status (§1.3 table); rate limits, temporary
failures, 5xx, timeouts and connection errors are transient, honouring `Retry-After`.

A message sent in parts keeps every part's `mid` (`channels.base.send_in_parts`; DELIVERED /
READ are reported from the first part); if part k fails the message fails with that part's
reason, permanently, and the parts already sent stay sent.
"""

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from chorus.channels.base import Accepted, ChannelFailure, Dispatch, json_object, send_in_parts
from chorus.channels.sms.connector import retry_after
from chorus.kit.clock import utcnow
from chorus.wire.messages import ReasonCode

PSID = re.compile(r"^[0-9]{1,32}$")

STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
# Tags with no time limit (they restrict content instead); unknown tags are left to Meta.
UNLIMITED_TAGS = frozenset({"CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE"})

_WINDOW = {(10, 2018278), (10, 2018065)}
_NOT_REACHABLE_SUBCODES = {(200, 1545041)}
_MEDIA_NOT_REACHABLE = {(100, 2018008), (100, 2018047)}
_RATE_LIMITS = frozenset({4, 17, 32, 613})
_TEMPORARY = frozenset({1200, 2, 1})
_CONFIGURATION = frozenset({10, 200, 230})


def page_token(credential: Mapping[str, Any]) -> str | None:
    token = (credential.get("static_token") or {}).get("token")
    return str(token) if token else None


def window_failure(dispatch: Dispatch, body: Mapping[str, Any]) -> ChannelFailure | None:
    """The local check of the standard messaging window (§1.6, Decision 4)."""
    if not dispatch.enforce_windows or dispatch.kind != "message":
        return None
    tag = body.get("tag") if body.get("messaging_type") == "MESSAGE_TAG" else None
    if tag and tag != "HUMAN_AGENT":
        return None  # the other tags have no time limit (or are Meta's to judge)
    window = HUMAN_AGENT_WINDOW if tag == "HUMAN_AGENT" else STANDARD_WINDOW
    last = dispatch.last_inbound_at
    if last is not None and utcnow() - _aware(last) <= window:
        return None
    described = "7 days (HUMAN_AGENT)" if tag else "24 hours"
    since = "never wrote to this Page" if last is None else f"last wrote at {last.isoformat()}"
    return ChannelFailure(
        ReasonCode.OUTSIDE_ALLOWED_SENDING_WINDOW,
        f"outside Messenger's {described} messaging window: the person {since}",
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def bodies_of(dispatch: Dispatch) -> list[dict[str, Any]]:
    native = dispatch.transcoded.native
    parts = native if isinstance(native, list) else [native]
    if not parts or not all(isinstance(part, dict) for part in parts):
        raise ChannelFailure(ReasonCode.BAD_REQUEST, "the Messenger payload must be JSON objects")
    # Chorus always sets the recipient.
    return [{**part, "recipient": {"id": dispatch.identity}} for part in parts]


async def send_message(http: httpx.AsyncClient, base_url: str, dispatch: Dispatch) -> Accepted:
    token = page_token(dispatch.credential)
    if token is None:
        raise ChannelFailure(
            ReasonCode.CHANNEL_BAD_CONFIGURATION,
            "the app's MESSENGER credential has no Page access token (static_token.token)",
        )
    if not PSID.match(dispatch.identity):
        raise ChannelFailure(
            ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY,
            f"{dispatch.identity!r} is not a Messenger PSID (1-32 digits)",
        )
    bodies = bodies_of(dispatch)
    outside = window_failure(dispatch, bodies[-1])
    if outside is not None:
        raise outside
    url = f"{base_url.rstrip('/')}/me/messages"
    return await send_in_parts(bodies, lambda body: _post(http, url, token, body))


async def user_name(
    http: httpx.AsyncClient, base_url: str, credential: Mapping[str, Any], psid: str
) -> str | None:
    """The Graph API's user profile of a PSID (`GET /{psid}?fields=first_name,last_name`);
    None when the Page may not see it (an unknown PSID, a bad token: Graph answers 400)."""
    token = page_token(credential)
    if token is None or not PSID.match(psid):
        return None
    try:
        response = await http.get(
            f"{base_url.rstrip('/')}/{psid}",
            params={"fields": "first_name,last_name"},
            headers={"Authorization": f"Bearer {token}"},
        )
    except httpx.TransportError as exc:
        raise ChannelFailure(
            ReasonCode.CHANNEL_FAILURE, f"the Graph API did not answer: {exc!r}", transient=True
        ) from exc
    if response.status_code >= 500:
        raise failure_from_response(response)
    profile = json_object(response) if response.status_code == 200 else {}
    parts = [profile.get("first_name"), profile.get("last_name")]
    name = " ".join(str(part).strip() for part in parts if isinstance(part, str) and part.strip())
    return name or None


async def _post(http: httpx.AsyncClient, url: str, token: str, body: dict[str, Any]) -> str:
    try:
        response = await http.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
    except httpx.TimeoutException as exc:
        raise ChannelFailure(
            ReasonCode.CHANNEL_FAILURE, f"the Send API timed out: {exc!r}", transient=True
        ) from exc
    except httpx.TransportError as exc:
        raise ChannelFailure(
            ReasonCode.CHANNEL_FAILURE, f"the Send API is unreachable: {exc!r}", transient=True
        ) from exc
    if response.status_code == 200:
        answer = json_object(response)
        mid = answer.get("message_id")
        if isinstance(mid, str) and mid:
            return mid
        if "sender_action" in body and answer.get("recipient_id"):
            # Sender actions are answered without a message id.
            return f"{body['sender_action']}:{answer['recipient_id']}:{utcnow().timestamp()}"
        raise ChannelFailure(
            ReasonCode.CHANNEL_FAILURE,
            "the Send API accepted the message but returned no message_id",
            channel_code="200",
            transient=True,
        )
    raise failure_from_response(response)


def failure_from_response(response: httpx.Response) -> ChannelFailure:
    """The §1.3 error table. `channel_code` is `"{code}/{error_subcode}"` (or `"{code}"`, or
    the HTTP status when the body carries no Graph error)."""
    status = response.status_code
    error = json_object(response).get("error")
    error = error if isinstance(error, dict) else {}
    code = _int(error.get("code"))
    subcode = _int(error.get("error_subcode"))
    text = str(error.get("message") or response.reason_phrase or f"HTTP {status}")
    if code is None:
        channel_code = str(status)
    elif subcode is None:
        channel_code = str(code)
    else:
        channel_code = f"{code}/{subcode}"
    wait = retry_after(response.headers.get("retry-after"))

    def failure(reason: ReasonCode, transient: bool = False) -> ChannelFailure:
        return ChannelFailure(
            reason,
            text,
            channel_code=channel_code,
            transient=transient,
            retry_after=wait if transient else None,
        )

    pair = (code, subcode)
    if pair in _WINDOW:
        return failure(ReasonCode.OUTSIDE_ALLOWED_SENDING_WINDOW)
    if code == 551 or pair in _NOT_REACHABLE_SUBCODES:
        return failure(ReasonCode.RECIPIENT_NOT_REACHABLE)
    if pair == (100, 2018001):
        return failure(ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY)
    if pair in _MEDIA_NOT_REACHABLE:
        return failure(ReasonCode.MEDIA_NOT_REACHABLE)
    if code == 100:
        if "size" in text.lower():
            return failure(ReasonCode.MEDIA_TOO_LARGE)
        return failure(ReasonCode.BAD_REQUEST)
    if code == 190 or code in _CONFIGURATION:
        return failure(ReasonCode.CHANNEL_BAD_CONFIGURATION)
    if code in _RATE_LIMITS:
        return failure(ReasonCode.RATE_LIMITED, transient=True)
    if code in _TEMPORARY:
        return failure(ReasonCode.CHANNEL_FAILURE, transient=True)
    if status == 429:
        return failure(ReasonCode.RATE_LIMITED, transient=True)
    if status >= 500 or status == 408:
        return failure(ReasonCode.CHANNEL_FAILURE, transient=True)
    if status in (401, 403):
        return failure(ReasonCode.CHANNEL_BAD_CONFIGURATION)
    if 400 <= status < 500:
        return failure(ReasonCode.BAD_REQUEST)
    return failure(ReasonCode.CHANNEL_FAILURE)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
