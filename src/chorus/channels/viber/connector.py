"""The VIBER connector: the Viber REST Bot API (CHANNELS.md part 2 §3.3).

`POST {base}/pa/send_message` with `X-Viber-Auth-Token: {static_token.token}`, once per part.
Viber answers HTTP 200 with a `status`: 0 and a `message_token` (the native id) on success,
otherwise the §3.3 error table. Before any call: the identity must be a Viber user id, and
videos and files get their required `size` from one `HEAD` of the media URL
(MEDIA_NOT_REACHABLE / MEDIA_TOO_LARGE without a send). Viber has no sending window to check.

Parts are sent in order (`channels.base.send_in_parts`): every part's token is stored, and a
failure after the first part was accepted is permanent (a retry would send them again).
"""

import re
from collections.abc import Mapping
from typing import Any

import httpx

from chorus.channels.base import Accepted, ChannelFailure, Dispatch, json_object, send_in_parts
from chorus.channels.sms.connector import retry_after
from chorus.channels.viber.transcode import SENDER_NAME_LIMIT, cut_label
from chorus.wire.messages import ReasonCode

USER_ID = re.compile(r"^[A-Za-z0-9+/=_-]{8,64}$")
AUTH_HEADER = "X-Viber-Auth-Token"
# chorus behaviour: the name Viber requires when neither VIBER_SENDER_NAME nor the app's
# display name reached the connector.
DEFAULT_SENDER_NAME = "Chorus"

VIDEO_SIZE_LIMIT = 26 * 1024 * 1024
FILE_SIZE_LIMIT = 50 * 1024 * 1024

WEBHOOK_EVENTS = [
    "delivered",
    "seen",
    "failed",
    "subscribed",
    "unsubscribed",
    "conversation_started",
]

# The §3.3 error table: Viber `status` → (reason, transient).
STATUS_NAMES = {
    1: "invalidUrl",
    2: "invalidAuthToken",
    3: "badData",
    4: "missingData",
    5: "receiverNotRegistered",
    6: "receiverNotSubscribed",
    7: "publicAccountBlocked",
    8: "publicAccountNotFound",
    9: "publicAccountSuspended",
    10: "webhookNotSet",
    11: "receiverNoSuitableDevice",
    12: "tooManyRequests",
    13: "apiVersionNotSupported",
    14: "incompatibleWithVersion",
    15: "publicAccountNotAuthorized",
    21: "unsupportedCountry",
    23: "freeMessagesExceeded",
    24: "noBalance",
}
_REASONS: dict[int, ReasonCode] = {
    5: ReasonCode.RECIPIENT_NOT_REACHABLE,
    11: ReasonCode.RECIPIENT_NOT_REACHABLE,
    6: ReasonCode.RECIPIENT_NOT_OPTED_IN,
    3: ReasonCode.BAD_REQUEST,
    4: ReasonCode.BAD_REQUEST,
    13: ReasonCode.BAD_REQUEST,
    14: ReasonCode.BAD_REQUEST,
    **{code: ReasonCode.CHANNEL_BAD_CONFIGURATION for code in (2, 7, 8, 9, 10, 15, 23, 24)},
    21: ReasonCode.DELIVERY_REJECTED_DUE_TO_POLICY,
    12: ReasonCode.RATE_LIMITED,
}


def auth_token(credential: Mapping[str, Any]) -> str | None:
    token = (credential.get("static_token") or {}).get("token")
    return str(token) if token else None


def status_failure(status: Any, message: str, retry: float | None = None) -> ChannelFailure:
    """A non-zero Viber `status` as a ChannelFailure (§3.3)."""
    try:
        number = int(status)
    except (TypeError, ValueError):
        number = -1
    code = _REASONS.get(number, ReasonCode.CHANNEL_FAILURE)
    transient = number == 12
    return ChannelFailure(
        code,
        message or STATUS_NAMES.get(number, f"Viber status {status}"),
        channel_code=str(status),
        transient=transient,
        retry_after=retry if transient else None,
    )


def http_failure(response: httpx.Response) -> ChannelFailure:
    """A non-200 answer (Viber itself always answers 200; proxies and outages do not)."""
    status = response.status_code
    text = response.text[:200] or response.reason_phrase or f"HTTP {status}"
    if status == 429:
        return ChannelFailure(
            ReasonCode.RATE_LIMITED,
            text,
            channel_code=str(status),
            transient=True,
            retry_after=retry_after(response.headers.get("retry-after")),
        )
    if status >= 500 or status == 408:
        return ChannelFailure(
            ReasonCode.CHANNEL_FAILURE,
            text,
            channel_code=str(status),
            transient=True,
            retry_after=retry_after(response.headers.get("retry-after")),
        )
    if status in (401, 403):
        return ChannelFailure(ReasonCode.CHANNEL_BAD_CONFIGURATION, text, channel_code=str(status))
    if status == 404:
        return ChannelFailure(ReasonCode.CHANNEL_BAD_CONFIGURATION, text, channel_code=str(status))
    return ChannelFailure(ReasonCode.BAD_REQUEST, text, channel_code=str(status))


async def post(
    http: httpx.AsyncClient, url: str, token: str, body: dict[str, Any]
) -> dict[str, Any]:
    """One Viber API call: the answer's JSON object when `status` is 0, else ChannelFailure."""
    try:
        response = await http.post(url, json=body, headers={AUTH_HEADER: token})
    except httpx.TimeoutException as exc:
        raise ChannelFailure(
            ReasonCode.CHANNEL_FAILURE, f"the Viber API timed out: {exc!r}", transient=True
        ) from exc
    except httpx.TransportError as exc:
        raise ChannelFailure(
            ReasonCode.CHANNEL_FAILURE, f"the Viber API is unreachable: {exc!r}", transient=True
        ) from exc
    if response.status_code != 200:
        raise http_failure(response)
    answer = json_object(response)
    if "status" not in answer:
        raise ChannelFailure(
            ReasonCode.CHANNEL_FAILURE,
            "the Viber API answered without a status",
            channel_code="200",
            transient=True,
        )
    if answer["status"] != 0:
        raise status_failure(
            answer["status"],
            str(answer.get("status_message") or ""),
            retry_after(response.headers.get("retry-after")),
        )
    return answer


async def media_size(http: httpx.AsyncClient, url: str, limit: int, kind: str) -> int:
    """The `size` of a video or file, from one HEAD of its URL."""
    try:
        response = await http.head(url, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise ChannelFailure(ReasonCode.MEDIA_NOT_REACHABLE, f"HEAD {url} failed: {exc!r}") from exc
    if response.status_code != 200:
        raise ChannelFailure(
            ReasonCode.MEDIA_NOT_REACHABLE,
            f"HEAD {url} answered HTTP {response.status_code}",
            channel_code=str(response.status_code),
        )
    length = response.headers.get("content-length", "").strip()
    if not length.isdigit():
        raise ChannelFailure(
            ReasonCode.MEDIA_NOT_REACHABLE,
            f"HEAD {url} gave no Content-Length; Viber needs the size",
        )
    size = int(length)
    if size > limit:
        raise ChannelFailure(
            ReasonCode.MEDIA_TOO_LARGE,
            f"the {kind} is {size} bytes; Viber allows at most {limit}",
        )
    return size


async def prepared_parts(http: httpx.AsyncClient, dispatch: Dispatch) -> list[dict[str, Any]]:
    """The bodies to send, with the receiver, a sender name and media sizes filled in."""
    native = dispatch.transcoded.native
    bodies = native if isinstance(native, list) else [native]
    if not bodies or not all(isinstance(body, dict) for body in bodies):
        raise ChannelFailure(ReasonCode.BAD_REQUEST, "a Viber message must be JSON objects")
    display_name = getattr(dispatch, "app_display_name", "") or DEFAULT_SENDER_NAME
    prepared = []
    for body in bodies:
        part = {**body, "receiver": dispatch.identity}
        sender = part.get("sender")
        if not isinstance(sender, dict):
            sender = {}
        if not sender.get("name"):
            sender = {**sender, "name": cut_label(display_name, SENDER_NAME_LIMIT)}
        part["sender"] = sender
        part.setdefault("min_api_version", 1)
        if part.get("type") in ("video", "file") and "size" not in part:
            media = part.get("media")
            if not isinstance(media, str) or not media:
                raise ChannelFailure(ReasonCode.BAD_REQUEST, f"a Viber {part['type']} needs media")
            limit = VIDEO_SIZE_LIMIT if part["type"] == "video" else FILE_SIZE_LIMIT
            part["size"] = await media_size(http, media, limit, part["type"])
        prepared.append(part)
    return prepared


async def send_message(http: httpx.AsyncClient, base_url: str, dispatch: Dispatch) -> Accepted:
    token = auth_token(dispatch.credential)
    if token is None:
        raise ChannelFailure(
            ReasonCode.CHANNEL_BAD_CONFIGURATION,
            "the app's VIBER credential has no auth token (static_token.token)",
        )
    if not USER_ID.match(dispatch.identity):
        raise ChannelFailure(
            ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY,
            f"{dispatch.identity!r} is not a Viber user id",
        )
    parts = await prepared_parts(http, dispatch)
    url = f"{base_url.rstrip('/')}/pa/send_message"

    async def send_one(part: dict[str, Any]) -> str:
        native_id = (await post(http, url, token, part)).get("message_token")
        if native_id is None:
            raise ChannelFailure(
                ReasonCode.CHANNEL_FAILURE,
                "the Viber API accepted the message but returned no message_token",
                transient=True,  # send_in_parts makes it permanent after the first part
            )
        return str(native_id)

    return await send_in_parts(parts, send_one)


async def set_webhook(
    http: httpx.AsyncClient, base_url: str, credential: Mapping[str, Any], url: str
) -> dict[str, Any]:
    """Register chorus's inbound URL with Viber (§3.2); raises ChannelFailure on a non-zero
    status."""
    token = auth_token(credential)
    if token is None:
        raise ChannelFailure(
            ReasonCode.CHANNEL_BAD_CONFIGURATION, "the VIBER credential has no auth token"
        )
    body = {"url": url, "event_types": WEBHOOK_EVENTS, "send_name": True, "send_photo": True}
    return await post(http, f"{base_url.rstrip('/')}/pa/set_webhook", token, body)
