"""The simulator's VIBERBM side: a fake of the chorus-owned Viber Business Messages API
(CHANNELS.md part 2 §2.3) and the native callbacks its handsets cause (§2.7).

`POST /simulator/viberbm/viberbm/v1/services/{service_id}/messages` checks what the API
checks — the service exists (404 UNKNOWN_SERVICE), the Bearer token is the service's (401
UNAUTHORIZED), the receiver is an MSISDN (400 INVALID_RECEIVER), the body is well formed (400
INVALID_REQUEST), image and document types (422 MEDIA_TYPE_UNSUPPORTED), the account type and
session (422 NO_SESSION) — and answers 202 `{"id", "status": "accepted"}`. Errors have the
API's shape, `{"error": {"code", "message"}}`.

The service's account type is the credential's `account_type` (default `2way`); a `session`
account sends only `text` and `image`, and only within 24 hours of the handset's last message
to that service.

Outcome per message, in this order:
1. the handset's `capability` is NO_CAPABILITY → 422 NOT_VIBER_USER (not a Viber user);
2. `fail_next` holds a request-level code (INVALID_REQUEST, UNAUTHORIZED, THROTTLED,
   INTERNAL, NO_SESSION…) → that error answers the send, and `fail_next` clears;
3. the message is accepted and recorded in the handset's inbox; then
   - not `reachable` → a `failed` status with NOT_VIBER_USER (its `fail_next` is kept);
   - `fail_next` holds a delivery-level code (NOT_VIBER_USER, USER_BLOCKED, MEDIA_…) → a
     `failed` status with it, or `EXPIRED` → an `expired` status; `fail_next` clears;
   - `auto_deliver` → `delivered`, then `seen` when `auto_read`.
A change of the handset's `subscribed` setting through the control API is the user opting
in or out of a service: an `opt_in` / `opt_out` callback is posted to the app holding it
(`control.update_handset` picks it); the fake's own answers do not read the setting.
Status callbacks are queued durably, in order per message, and signed with `X-Chorus-Signature`
(HMAC-SHA256 of the body keyed with the app's VIBERBM `callback_secret`, when it has one).
"""

import hmac
import re
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.channels.sms.connector import MSISDN
from chorus.channels.viberbm.connector import (
    ERROR_STATUS,
    SESSION_TYPES,
    account_type,
)
from chorus.channels.viberbm.inbound import signature
from chorus.channels.viberbm.transcode import (
    CAPTION_LIMIT,
    DOCUMENT_EXTENSIONS,
    IMAGE_EXTENSIONS,
    MAX_TTL,
    MIN_TTL,
    TEXT_LIMIT,
    THUMBNAIL_URL_LIMIT,
    media_kind,
    url_extension,
)
from chorus.kit.clock import rfc3339, utcnow
from chorus.kit.db import WriteSession
from chorus.kit.errors import invalid
from chorus.kit.ids import new_id
from chorus.models import App, SimulatedMessage
from chorus.runtime import Runtime
from chorus.simulator import repository
from chorus.simulator.base import (
    SEND_REPORT,
    HandsetMessage,
    SimulatedChannel,
    parse_json,
    queue_webhook,
)
from chorus.simulator.handsets import settings_of
from chorus.wire.enums import Channel
from chorus.wire.messages import ContactMessage, format_coordinate

SESSION_LENGTH = timedelta(hours=24)
MESSAGE_CLASSES = ("session", "promotional", "transactional")
TYPES = ("text", "image", "video", "file", "card")
BUTTON_ACTIONS = ("open_url", "call", "location")
MAX_CLIENT_REF = 128
EXPIRED = "EXPIRED"
# fail_next codes the send call itself answers; the others come back as a failed status.
REQUEST_LEVEL = frozenset(
    {
        "INVALID_RECEIVER",
        "INVALID_REQUEST",
        "UNAUTHORIZED",
        "UNKNOWN_SERVICE",
        "SERVICE_SUSPENDED",
        "THROTTLED",
        "INTERNAL",
        "NO_SESSION",
    }
)
FAIL_NEXT_CODES = frozenset({*ERROR_STATUS, EXPIRED})
MESSAGES = {
    "NOT_VIBER_USER": "The receiver is not a Viber user",
    "UNSUPPORTED_DEVICE": "The receiver's device does not support business messages",
    "USER_BLOCKED": "The receiver blocked this service",
    "OPTED_OUT": "The receiver opted out of this service's messages",
    "NO_SESSION": "No open session with the receiver",
    "MEDIA_TYPE_UNSUPPORTED": "The media type is not supported",
    "MEDIA_TOO_LARGE": "The media file is too large",
    "MEDIA_NOT_REACHABLE": "The media file could not be fetched",
    "INVALID_REQUEST": "The request is invalid",
    "INVALID_RECEIVER": "The receiver is not a valid phone number",
    "UNAUTHORIZED": "Missing or invalid bearer token",
    "UNKNOWN_SERVICE": "Unknown service",
    "SERVICE_SUSPENDED": "The service is suspended",
    "THROTTLED": "Too many requests",
    "INTERNAL": "Internal error",
    EXPIRED: "The message expired before it was delivered",
}
_HTTP_URL = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)

router = APIRouter(prefix="/simulator/viberbm/viberbm/v1", tags=["simulator"])


class Refused(Exception):
    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message or MESSAGES.get(code, code))
        self.code = code
        self.message = message or MESSAGES.get(code, code)

    @property
    def response(self) -> JSONResponse:
        headers = {"Retry-After": "1"} if self.code == "THROTTLED" else None
        return JSONResponse(
            {"error": {"code": self.code, "message": self.message}},
            status_code=ERROR_STATUS.get(self.code, 400),
            headers=headers,
        )


# --- request validation -----------------------------------------------------------------------


def validated_message(raw: bytes) -> dict[str, Any]:
    try:
        data = parse_json(raw)
    except ValueError:
        raise Refused("INVALID_REQUEST", "The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise Refused("INVALID_REQUEST", "The request body must be a JSON object")

    def bad(text: str) -> Refused:
        return Refused("INVALID_REQUEST", text)

    receiver = data.get("receiver")
    if not isinstance(receiver, str) or not MSISDN.match(receiver):
        raise Refused("INVALID_RECEIVER", f"receiver: {receiver!r} is not an MSISDN")
    reference = data.get("client_ref")
    if reference is not None and (not isinstance(reference, str) or len(reference) > 128):
        raise bad(f"client_ref: a string of at most {MAX_CLIENT_REF} characters")
    if data.get("message_class", "transactional") not in MESSAGE_CLASSES:
        raise bad(f"message_class: one of {', '.join(MESSAGE_CLASSES)}")
    ttl = data.get("ttl", 86400)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not MIN_TTL <= ttl <= MAX_TTL:
        raise bad(f"ttl: an integer from {MIN_TTL} to {MAX_TTL}")
    kind = data.get("type")
    if kind not in TYPES:
        raise bad(f"type: one of {', '.join(TYPES)}")
    text = data.get("text")
    if text is not None and (not isinstance(text, str) or len(text) > TEXT_LIMIT):
        raise bad(f"text: a string of at most {TEXT_LIMIT} characters")
    if kind == "text" and not text:
        raise bad("text: required for a text message")
    if kind in ("image", "card"):
        _image(data.get("image_url"), "image_url")
    if kind == "video":
        video = data.get("video")
        if not isinstance(video, dict) or not _is_url(video.get("url")):
            raise bad("video.url: an http(s) URL is required")
        thumbnail = video.get("thumbnail_url")
        if not _is_url(thumbnail) or len(thumbnail) > THUMBNAIL_URL_LIMIT:
            raise bad(f"video.thumbnail_url: an http(s) URL of at most {THUMBNAIL_URL_LIMIT}")
    if kind == "file":
        file = data.get("file")
        if not isinstance(file, dict) or not _is_url(file.get("url")):
            raise bad("file.url: an http(s) URL is required")
        name = file.get("name")
        if not isinstance(name, str) or not name:
            raise bad("file.name: required")
        if url_extension(name) not in DOCUMENT_EXTENSIONS:
            raise Refused("MEDIA_TYPE_UNSUPPORTED", f"file.name: {name!r} is not a listed type")
    button = data.get("button")
    if button is not None:
        if kind not in ("text", "card"):
            raise bad("button: allowed on text and card messages only")
        _button(button)
    return data


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and bool(_HTTP_URL.match(value))


def _image(value: Any, name: str) -> None:
    if not _is_url(value):
        raise Refused("INVALID_REQUEST", f"{name}: an http(s) URL is required")
    if url_extension(value) not in IMAGE_EXTENSIONS:
        raise Refused("MEDIA_TYPE_UNSUPPORTED", f"{name}: only jpg, jpeg and png images")


def _button(button: Any) -> None:
    def bad(text: str) -> Refused:
        return Refused("INVALID_REQUEST", f"button.{text}")

    if not isinstance(button, dict):
        raise bad("must be an object")
    caption = button.get("caption")
    if not isinstance(caption, str) or not caption or len(caption) > CAPTION_LIMIT:
        raise bad(f"caption: 1 to {CAPTION_LIMIT} characters")
    action = button.get("action")
    if action not in BUTTON_ACTIONS:
        raise bad(f"action: one of {', '.join(BUTTON_ACTIONS)}")
    if action == "open_url" and not _is_url(button.get("url")):
        raise bad("url: an http(s) URL is required for open_url")
    if action == "call" and not re.fullmatch(
        r"\+[1-9][0-9]{6,14}", str(button.get("phone_number"))
    ):
        raise bad("phone_number: +E.164 is required for call")
    if action == "location":
        location = button.get("location")
        if not isinstance(location, dict) or not all(
            isinstance(location.get(k), int | float) for k in ("lat", "lon")
        ):
            raise bad("location: {lat, lon} is required for location")


def seen_text(message: dict[str, Any]) -> str:
    """What the Viber user sees: the text, the media link, the button as `[caption]`."""
    kind = message["type"]
    lines: list[str | None] = []
    if kind in ("text", "card"):
        lines.append(message.get("text"))
    if kind in ("image", "card"):
        lines.append(message.get("image_url"))
    if kind == "video":
        lines.append(message["video"]["url"])
    if kind == "file":
        lines.append(f"{message['file']['name']}: {message['file']['url']}")
    if message.get("button"):
        lines.append(f"[{message['button']['caption']}]")
    return "\n".join(line for line in lines if line)


# --- the send endpoint ------------------------------------------------------------------------


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def authorised_app(
    session: AsyncSession, service_id: str, token: str | None
) -> tuple[App, dict[str, Any]]:
    holders = await repository.apps_with_credential(session, Channel.VIBERBM, service_id)
    if not holders:
        raise Refused("UNKNOWN_SERVICE", f"Service {service_id} not found")
    if token is None:
        raise Refused("UNAUTHORIZED")
    for app, credential in holders:
        expected = str(credential["static_bearer"].get("token") or "")
        if hmac.compare_digest(expected.encode(), token.encode()):
            return app, credential
    raise Refused("UNAUTHORIZED", "Invalid token for this service")


async def session_is_open(session: AsyncSession, service_id: str, identity: str) -> bool:
    """Whether the handset wrote to this service within the last 24 hours."""
    since = utcnow() - SESSION_LENGTH
    return any(
        entry.direction == "sent"
        and entry.at >= since
        and (entry.request or {}).get("service_id") == service_id
        for entry in await repository.inbox(session, Channel.VIBERBM, identity)
    )


@router.post("/services/{service_id}/messages", status_code=202)
async def send_message(
    service_id: str, request: Request, session: AsyncSession = WriteSession
) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    raw = await request.body()  # before any statement: see inbound/routes.py
    try:
        app, credential = await authorised_app(session, service_id, bearer_token(request))
        message = validated_message(raw)
        kind = account_type(credential)
        receiver = message["receiver"]
        if kind == "session":
            if message["type"] not in SESSION_TYPES:
                raise Refused("INVALID_REQUEST", "a session account sends text and image only")
            if not await session_is_open(session, service_id, receiver):
                raise Refused("NO_SESSION")
    except Refused as refused:
        return refused.response
    handset = await repository.handset_for_update(session, Channel.VIBERBM, receiver)
    settings = settings_of(handset)
    if settings.get("capability") == "NO_CAPABILITY":
        return Refused("NOT_VIBER_USER").response
    fail_next = settings.get("fail_next")
    if fail_next in REQUEST_LEVEL:
        handset.settings = {**handset.settings, "fail_next": None}
        return Refused(fail_next).response

    native_id = f"vbm_{new_id().lower()}"
    if not settings.get("reachable", True):
        outcome: tuple[str, str | None] | None = ("failed", "NOT_VIBER_USER")
    elif fail_next is not None:
        handset.settings = {**handset.settings, "fail_next": None}
        outcome = ("expired", None) if fail_next == EXPIRED else ("failed", fail_next)
    else:
        outcome = None
    now = utcnow()
    await repository.add_message(
        session,
        SimulatedMessage(
            channel=Channel.VIBERBM,
            identity=receiver,
            direction="received",
            native_id=native_id,
            text=seen_text(message),
            request=message,
            status=outcome[0] if outcome else ("delivered" if settings["auto_deliver"] else "sent"),
            at=now,
        ),
    )
    reports: list[dict[str, Any]] = []
    common = {"type": "status", "id": native_id, "client_ref": message.get("client_ref")}
    if outcome is not None:
        state, code = outcome
        error = {"code": code or EXPIRED, "message": MESSAGES.get(code or EXPIRED, "")}
        reports.append({**common, "status": state, "error": error})
    elif settings.get("auto_deliver", True):
        reports.append({**common, "status": "delivered"})
        if settings.get("auto_read", True):
            reports.append({**common, "status": "seen"})
    url = runtime.inbound_url(Channel.VIBERBM, app.id)
    for report in reports:
        report["timestamp"] = rfc3339(utcnow())
        await queue_status(
            session, app, url, {k: v for k, v in report.items() if v is not None}, service_id
        )
    return JSONResponse({"id": native_id, "status": "accepted"}, status_code=202)


async def queue_status(
    session: AsyncSession, app: App, url: str, report: dict[str, Any], service_id: str
) -> None:
    """`queue_webhook`, with the reports about one message kept in order (`seen` never
    overtakes `delivered`): the outbox runs jobs sharing an ordering key one after another."""
    await queue_webhook(
        session,
        app,
        Channel.VIBERBM,
        url,
        report,
        dedup_key=f"{SEND_REPORT}:{report['id']}:{report['status']}",
        context={"service_id": service_id},
        ordering_key=f"{SEND_REPORT}:{report['id']}",
    )


# --- what a handset sends -------------------------------------------------------------------


def viberbm_credential(app: App | None, service_id: str | None = None) -> dict[str, Any] | None:
    for credential in (app.channel_credentials or []) if app is not None else []:
        if credential.get("channel") != Channel.VIBERBM:
            continue
        bearer = credential.get("static_bearer") or {}
        if service_id is None or bearer.get("claimed_identity") == service_id:
            return credential
    return None


def handset_content(message: ContactMessage) -> tuple[dict[str, Any], str]:
    """(native `content`, the text the person sees) of what a Viber user can send."""
    if message.text_message is not None:
        text = message.text_message.text
        return {"type": "text", "text": text}, text
    if message.media_message is not None:
        url = message.media_message.url
        return {"type": _content_type(url), "url": url}, url
    if message.media_card_message is not None:
        card = message.media_card_message
        content = {"type": _content_type(card.url), "url": card.url}
        if card.caption:
            content["caption"] = card.caption
        return content, "\n".join(part for part in (card.url, card.caption) if part)
    if message.location_message is not None:
        location = message.location_message
        content = {
            "type": "location",
            "lat": location.coordinates.latitude,
            "lon": location.coordinates.longitude,
        }
        lat = format_coordinate(location.coordinates.latitude)
        lon = format_coordinate(location.coordinates.longitude)
        return content, f"{location.title or 'Location'}: {lat},{lon}"
    if message.fallback_message is not None:
        return {"type": "sticker", "sticker_id": "40100"}, "(sticker)"
    raise invalid(
        message.content_kind,
        "a Viber Business Messages user sends text, media, a location or a sticker "
        "(fallback_message); a numbered choice is answered by typing its number",
    )


def _content_type(url: str) -> str:
    kind = media_kind(url)
    return {"image": "image", "video": "video"}.get(kind, "file")


class ViberBmSimulator(SimulatedChannel):
    channel = Channel.VIBERBM
    router = router
    reports_subscription = True
    replies_in_context = True

    def handset_message(self, app: App, identity: str, message: ContactMessage) -> HandsetMessage:
        content, text = handset_content(message)
        credential = viberbm_credential(app) or {}
        service_id = (credential.get("static_bearer") or {}).get("claimed_identity") or ""
        native = {
            "type": "message",
            "id": f"vbm_mo_{new_id().lower()}",
            "service_id": service_id,
            "sender": identity,
            "timestamp": rfc3339(utcnow()),
            "content": content,
        }
        return HandsetMessage(native=native, native_id=native["id"], text=text)

    def subscription_callback(
        self, app: App, identity: str, subscribed: bool
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The user opting in to / out of the app's service: `opt_in` / `opt_out` (§2.7)."""
        credential = viberbm_credential(app)
        if credential is None:
            return None
        service_id = (credential.get("static_bearer") or {}).get("claimed_identity") or ""
        native = {
            "type": "opt_in" if subscribed else "opt_out",
            "service_id": service_id,
            "sender": identity,
            "timestamp": rfc3339(utcnow()),
        }
        return native, {"service_id": service_id}

    def add_reply_context(self, native: dict[str, Any], replied_native_id: str) -> None:
        """`reply_to`: the native id of the app message answered (§2.7)."""
        native["reply_to"] = replied_native_id

    def valid_identity(self, identity: str) -> bool:
        return bool(MSISDN.match(identity))

    def check_fail_next(self, value: Any) -> Any:
        """A §2.3 error code (any case), or EXPIRED for an `expired` status."""
        if not isinstance(value, str):
            return None
        code = value.strip().upper()
        return code if code in FAIL_NEXT_CODES else None

    def webhook_headers(
        self, app: App | None, body: bytes, context: dict[str, Any]
    ) -> dict[str, str]:
        credential = viberbm_credential(app, context.get("service_id")) or viberbm_credential(app)
        secret = (credential or {}).get("callback_secret") or ""
        return {"x-chorus-signature": signature(secret, body)} if secret else {}


SIMULATOR = ViberBmSimulator()
