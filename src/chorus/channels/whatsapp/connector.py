"""The WhatsApp connector: the Cloud API's send endpoint (CHANNELS.md part 1 §2.3, §2.6).

`POST {base}/{version}/{phone_number_id}/messages` with `Authorization: Bearer {token}`, both
from the app's `static_bearer` credential. What chorus decides without the channel fails
before any call: an incomplete credential, an invalid MSISDN, a free-form message outside the
24-hour customer-service window (templates are always allowed), and — with media probing on —
unreachable, oversized or unsupported media. Every Graph error maps by the §2.3 code table;
the same table maps the codes of asynchronous `failed` statuses (inbound.py).
"""

import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from chorus.channels.base import Accepted, ChannelFailure, Dispatch, json_object
from chorus.channels.sms.connector import retry_after
from chorus.wire.enums import Channel
from chorus.wire.identities import normalise_identity
from chorus.wire.messages import ReasonCode

MSISDN = re.compile(r"^[1-9][0-9]{6,14}$")
DEFAULT_API_VERSION = "v21.0"
SERVICE_WINDOW = timedelta(hours=24)

# Size limits per native media kind (§2.4), in bytes.
MEDIA_LIMITS = {
    "image": 5 * 1024 * 1024,
    "video": 16 * 1024 * 1024,
    "audio": 16 * 1024 * 1024,
    "document": 100 * 1024 * 1024,
    "sticker": 500 * 1024,
}
# Content types the Cloud API accepts, and the native kind each becomes.
MEDIA_TYPES = {
    "image/jpeg": "image",
    "image/png": "image",
    "video/mp4": "video",
    "video/3gpp": "video",
    "audio/aac": "audio",
    "audio/amr": "audio",
    "audio/mpeg": "audio",
    "audio/mp4": "audio",
    "audio/ogg": "audio",
    "image/webp": "sticker",
    "text/plain": "document",
    "application/pdf": "document",
    "application/vnd.ms-powerpoint": "document",
    "application/msword": "document",
    "application/vnd.ms-excel": "document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "document",
}


def api_version() -> str:
    return os.environ.get("CHORUS_WHATSAPP_API_VERSION") or DEFAULT_API_VERSION


def media_probe_on() -> bool:
    return (os.environ.get("CHORUS_MEDIA_PROBE") or "").strip().lower() in ("on", "true", "1")


# --- the §2.3 code table ---------------------------------------------------------------------

_BAD_CONFIGURATION = frozenset({0, 190, 3, 10, 131005, 131031, 131042, 133010, *range(200, 300)})
_RATE_LIMITED_TRANSIENT = frozenset({4, 80007, 130429, 131056})
_SERVICE_ERRORS = frozenset({1, 2, 131000, 131016, 131057})
_BAD_REQUEST = frozenset({100, 131008, 131009, 131051, 132005, 132007, 132012})
_NOT_REACHABLE = frozenset({131026, 131030})
_POLICY = frozenset({368, 131049, 132015, 132016})


def reason_for_code(code: Any, details: str = "") -> tuple[ReasonCode, bool]:
    """(reason code, transient) of a Graph / status error `code` (§2.3)."""
    try:
        number = int(code)
    except (TypeError, ValueError):
        return ReasonCode.CHANNEL_FAILURE, False
    if number in _BAD_CONFIGURATION:
        return ReasonCode.CHANNEL_BAD_CONFIGURATION, False
    if number in _RATE_LIMITED_TRANSIENT:
        return ReasonCode.RATE_LIMITED, True
    if number == 131048:
        return ReasonCode.RATE_LIMITED, False
    if number in _SERVICE_ERRORS:
        return ReasonCode.CHANNEL_FAILURE, True
    if number in _BAD_REQUEST:
        return ReasonCode.BAD_REQUEST, False
    if number == 131021:
        return ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY, False
    if number in _NOT_REACHABLE:
        return ReasonCode.RECIPIENT_NOT_REACHABLE, False
    if number == 131047:
        return ReasonCode.OUTSIDE_ALLOWED_SENDING_WINDOW, False
    if number == 131050:
        return ReasonCode.RECIPIENT_NOT_OPTED_IN, False
    if number in _POLICY:
        return ReasonCode.DELIVERY_REJECTED_DUE_TO_POLICY, False
    if number == 131052:
        return ReasonCode.MEDIA_NOT_REACHABLE, False
    if number == 131053:
        if "size" in details.lower() or "large" in details.lower():
            return ReasonCode.MEDIA_TOO_LARGE, False
        return ReasonCode.MEDIA_TYPE_UNSUPPORTED, False
    if number == 132001:
        return ReasonCode.TEMPLATE_NOT_FOUND, False
    if number == 132000:
        return ReasonCode.TEMPLATE_INSUFFICIENT_PARAMETERS, False
    return ReasonCode.CHANNEL_FAILURE, False


def failure_from_response(response: httpx.Response) -> ChannelFailure:
    """A Graph error envelope `{"error": {"message", "code", "error_data": {"details"}}}`
    mapped by the table; without a code, by the HTTP status (429, 5xx transient)."""
    status = response.status_code
    error = json_object(response).get("error")
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    data = error.get("error_data") if isinstance(error.get("error_data"), dict) else {}
    details = str(data.get("details") or "")
    message = str(error.get("message") or response.reason_phrase or f"HTTP {status}")
    description = f"{message}: {details}" if details and details not in message else message
    wait = retry_after(response.headers.get("retry-after"))
    if code is None:
        if status == 429:
            return ChannelFailure(
                ReasonCode.RATE_LIMITED,
                description,
                channel_code=str(status),
                transient=True,
                retry_after=wait,
            )
        if status >= 500 or status == 408:
            return ChannelFailure(
                ReasonCode.CHANNEL_FAILURE, description, channel_code=str(status), transient=True
            )
        if status in (401, 403):
            return ChannelFailure(
                ReasonCode.CHANNEL_BAD_CONFIGURATION, description, channel_code=str(status)
            )
        return ChannelFailure(ReasonCode.CHANNEL_FAILURE, description, channel_code=str(status))
    reason, transient = reason_for_code(code, details)
    if status >= 500 and reason == ReasonCode.CHANNEL_FAILURE:
        transient = True
    return ChannelFailure(
        reason,
        description,
        channel_code=str(code),
        transient=transient,
        retry_after=wait if transient else None,
    )


# --- sending ---------------------------------------------------------------------------------


def phone_number(credential: Mapping[str, Any]) -> tuple[str, str] | None:
    """(phone-number id, token) of a WhatsApp credential, or None when incomplete."""
    bearer = credential.get("static_bearer") or {}
    number_id, token = bearer.get("claimed_identity"), bearer.get("token")
    if not number_id or not token:
        return None
    return str(number_id), str(token)


def outside_window(dispatch: Dispatch, now: datetime | None = None) -> bool:
    """True when a free-form message may not go: the identity has not written in 24 h."""
    last = dispatch.last_inbound_at
    if last is None:
        return True
    if last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return (now or datetime.now(UTC)) - last > SERVICE_WINDOW


def request_body(dispatch: Dispatch) -> dict[str, Any]:
    """The body to send: the transcoded one with the real recipient (Raises ChannelFailure
    for what fails without a call)."""
    native = dispatch.transcoded.native
    if not isinstance(native, dict):
        raise ChannelFailure(ReasonCode.BAD_REQUEST, "the WhatsApp payload must be a JSON object")
    if not MSISDN.match(dispatch.identity):
        raise ChannelFailure(
            ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY,
            f"{dispatch.identity!r} is not a valid MSISDN (E.164 digits, no leading +)",
        )
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": native.get("recipient_type", "individual"),
        "to": dispatch.identity,
    }
    body.update(
        (k, v) for k, v in native.items() if k not in ("messaging_product", "recipient_type", "to")
    )
    if dispatch.enforce_windows and body.get("type") != "template" and outside_window(dispatch):
        raise ChannelFailure(
            ReasonCode.OUTSIDE_ALLOWED_SENDING_WINDOW,
            "more than 24 hours since the contact last wrote on WhatsApp; only templates may "
            "be sent",
        )
    return body


async def probe_media(http: httpx.AsyncClient, body: dict[str, Any]) -> None:
    """With CHORUS_MEDIA_PROBE=on: HEAD the media link of a media message and check it
    (§2.4 "Media checks"); the Content-Type picks the native kind."""
    kind = body.get("type")
    if kind not in MEDIA_LIMITS or not isinstance(body.get(kind), dict):
        return
    link = body[kind].get("link")
    if not isinstance(link, str):
        return
    try:
        response = await http.head(link, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise ChannelFailure(
            ReasonCode.MEDIA_NOT_REACHABLE, f"the media {link} is unreachable: {exc!r}"
        ) from exc
    if response.status_code >= 400:
        raise ChannelFailure(
            ReasonCode.MEDIA_NOT_REACHABLE,
            f"the media {link} answered HTTP {response.status_code}",
            channel_code=str(response.status_code),
        )
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    probed = MEDIA_TYPES.get(content_type) if content_type else "document"
    if probed is None:
        raise ChannelFailure(
            ReasonCode.MEDIA_TYPE_UNSUPPORTED, f"WhatsApp does not carry {content_type} media"
        )
    if probed != kind:
        media = dict(body.pop(kind))
        if probed != "document":
            media.pop("filename", None)
        if probed in ("audio", "sticker"):
            media.pop("caption", None)
        body["type"] = probed
        body[probed] = media
    length = response.headers.get("content-length")
    if length and length.isdigit() and int(length) > MEDIA_LIMITS[probed]:
        raise ChannelFailure(
            ReasonCode.MEDIA_TOO_LARGE,
            f"the media has {length} bytes; WhatsApp takes at most {MEDIA_LIMITS[probed]} for "
            f"{probed}",
        )


async def send_message(http: httpx.AsyncClient, base_url: str, dispatch: Dispatch) -> Accepted:
    account = phone_number(dispatch.credential)
    if account is None:
        raise ChannelFailure(
            ReasonCode.CHANNEL_BAD_CONFIGURATION,
            "the app's WhatsApp credential needs static_bearer.claimed_identity (the phone-number "
            "id) and static_bearer.token",
        )
    number_id, token = account
    body = request_body(dispatch)
    if media_probe_on():
        await probe_media(http, body)
    url = f"{base_url.rstrip('/')}/{api_version()}/{number_id}/messages"
    try:
        response = await http.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
    except httpx.TimeoutException as exc:
        raise ChannelFailure(
            ReasonCode.CHANNEL_FAILURE, f"the WhatsApp API timed out: {exc!r}", transient=True
        ) from exc
    except httpx.TransportError as exc:
        raise ChannelFailure(
            ReasonCode.CHANNEL_FAILURE, f"the WhatsApp API is unreachable: {exc!r}", transient=True
        ) from exc
    if response.status_code == 200:
        answer = json_object(response)
        native_id = _first(answer.get("messages")).get("id")
        if isinstance(native_id, str) and native_id:
            return Accepted(native_id=native_id, canonical_identity=_wa_id(answer, dispatch))
        raise ChannelFailure(
            ReasonCode.CHANNEL_FAILURE,
            "the WhatsApp API accepted the message but returned no message id",
            channel_code="200",
            transient=True,
        )
    raise failure_from_response(response)


def _first(items: Any) -> dict[str, Any]:
    return items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}


def _wa_id(answer: dict[str, Any], dispatch: Dispatch) -> str | None:
    """`contacts[0].wa_id` when WhatsApp knows the user by another number than the one sent
    to (§2.1: some countries insert or drop a digit)."""
    wa_id = _first(answer.get("contacts")).get("wa_id")
    if not isinstance(wa_id, str) or not wa_id.strip():
        return None
    canonical = normalise_identity(Channel.WHATSAPP, wa_id)
    return canonical if canonical != dispatch.identity else None


async def fetch_media(
    http: httpx.AsyncClient, base_url: str, credential: Mapping[str, Any], media_id: str
) -> tuple[str, bytes] | None:
    """An inbound media id's file: the Graph API names its URL, which is downloaded with the
    same token (CHANNELS.md part 1 §2.7, "Media URLs")."""
    token = str((credential.get("static_bearer") or {}).get("token") or "")
    headers = {"Authorization": f"Bearer {token}"}
    try:
        info = await http.get(f"{base_url}/{api_version()}/{media_id}", headers=headers)
        if info.status_code != 200:
            return None
        described = info.json()
        download = await http.get(str(described["url"]), headers=headers)
    except (httpx.HTTPError, ValueError, KeyError):
        return None
    if download.status_code != 200:
        return None
    content_type = str(described.get("mime_type") or download.headers.get("content-type") or "")
    return content_type or "application/octet-stream", download.content
