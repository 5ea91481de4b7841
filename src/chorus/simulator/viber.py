"""The simulator's VIBER side: a fake of the Viber REST Bot API (CHANNELS.md part 2 §3.3) and
the signed callbacks its handsets cause (§3.7).

`POST /simulator/viber/pa/send_message` checks what Viber checks — the auth token names a bot
(status 2 `invalidAuthToken` otherwise, always with HTTP 200 as Viber answers), the body is
well formed (3 `badData`, 4 `missingData`), the receiver is a Viber user (5) subscribed to the
bot (6) — answers `{"status": 0, "message_token"}` and puts the message in the handset's
inbox. `POST /simulator/viber/pa/set_webhook` is accepted and answered by a signed `webhook`
event to the URL, as Viber validates a webhook.

Outcome per message, in this order:
1. the handset's `capability` is NO_CAPABILITY → status 5 `receiverNotRegistered` (no Viber
   user), nothing delivered;
2. the handset is not `subscribed` → status 6, nothing delivered;
3. the handset is not `reachable` → accepted, then a `failed` callback (`fail_next` is kept);
4. `fail_next` is set → a Viber status (the send answers it) or `"failed"` (accepted, then a
   `failed` callback); it clears;
5. `auto_deliver` → a `delivered` callback, then `seen` when `auto_read`.
A change of the handset's `subscribed` setting through the control API is the user
(un)subscribing: a signed `subscribed` / `unsubscribed` event is posted to the bot's app
(`control.update_handset` picks it).
Callbacks are queued durably in the send's transaction, in order per message token, and
signed like Viber's:
`X-Viber-Content-Signature` = hex HMAC-SHA256 of the body with the app's `callback_secret`
(what chorus verifies with), else its auth token.
"""

import hmac
import random
import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import String, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.channels.viber.connector import FILE_SIZE_LIMIT, STATUS_NAMES, USER_ID, VIDEO_SIZE_LIMIT
from chorus.channels.viber.inbound import SIGNATURE_HEADER, signature, signing_key
from chorus.channels.viber.transcode import (
    BUTTON_TEXT_LIMIT,
    CAPTION_LIMIT,
    CONTACT_NAME_LIMIT,
    FILE_NAME_LIMIT,
    KEYBOARD_BUTTONS,
    PHONE_NUMBER_LIMIT,
    SENDER_NAME_LIMIT,
    TEXT_LIMIT,
    file_name_of,
    media_kind,
)
from chorus.kit.clock import utcnow
from chorus.kit.db import WriteSession
from chorus.kit.errors import invalid
from chorus.models import App, SimulatedMessage
from chorus.runtime import Runtime
from chorus.simulator import repository
from chorus.simulator.base import (
    SEND_REPORT,
    HandsetMessage,
    SimulatedChannel,
    numeric_code,
    parse_json,
    queue_webhook,
)
from chorus.simulator.handsets import settings_of
from chorus.wire.enums import Channel
from chorus.wire.messages import ContactMessage

CHAT_HOSTNAME = "SN-CHAT-SIM_"
MESSAGE_TYPES = (
    "text",
    "picture",
    "video",
    "file",
    "location",
    "contact",
    "url",
    "sticker",
    "rich_media",
)
ACTION_TYPES = ("reply", "open-url", "location-picker", "share-phone", "none")
EXECUTABLES = frozenset({"exe", "bat", "cmd", "com", "msi", "scr", "vbs", "js", "jar", "apk"})
URL_LIMIT = 2000
FAILED = "failed"  # fail_next: accepted, then a `failed` callback
RECEIVER_NOT_REGISTERED = 5

router = APIRouter(prefix="/simulator/viber/pa", tags=["simulator"])


def viber_status(status: int, message: str | None = None) -> JSONResponse:
    return JSONResponse(
        {
            "status": status,
            "status_message": message or STATUS_NAMES.get(status, "error"),
            "chat_hostname": CHAT_HOSTNAME,
        }
    )


class Refused(Exception):
    def __init__(self, status: int, message: str | None = None) -> None:
        super().__init__(message or STATUS_NAMES.get(status, "error"))
        self.response = viber_status(status, message)


def new_token() -> int:
    return random.randrange(10**17, 2**63)


def timestamp_ms() -> int:
    return int(utcnow().timestamp() * 1000)


# --- request validation -------------------------------------------------------------------------


def _missing(field: str) -> Refused:
    return Refused(4, f"missingData: {field}")


def _bad(text: str) -> Refused:
    return Refused(3, f"badData: {text}")


def _string(body: dict[str, Any], field: str, limit: int | None = None) -> str:
    value = body.get(field)
    if value is None or value == "":
        raise _missing(field)
    if not isinstance(value, str):
        raise _bad(f"{field} must be a string")
    if limit is not None and len(value) > limit:
        raise _bad(f"{field} longer than {limit}")
    return value


def _integer(body: dict[str, Any], field: str) -> int:
    value = body.get(field)
    if value is None:
        raise _missing(field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{field} must be an integer")
    return value


def _buttons(buttons: Any, where: str, max_rows: int, limit: int | None) -> None:
    if not isinstance(buttons, list) or not buttons:
        raise _missing(f"{where}.Buttons")
    if limit is not None and len(buttons) > limit:
        raise _bad(f"{where}.Buttons holds at most {limit} buttons")
    for button in buttons:
        if not isinstance(button, dict):
            raise _bad(f"{where}.Buttons must hold objects")
        columns, rows = button.get("Columns", 6), button.get("Rows", 1)
        if not isinstance(columns, int) or not 1 <= columns <= 6:
            raise _bad(f"{where} button Columns must be 1-6")
        if not isinstance(rows, int) or not 1 <= rows <= max_rows:
            raise _bad(f"{where} button Rows must be 1-{max_rows}")
        action = button.get("ActionType", "reply")
        if action not in ACTION_TYPES:
            raise _bad(f"{where} button ActionType {action!r}")
        if action in ("reply", "open-url") and not isinstance(button.get("ActionBody"), str):
            raise _missing(f"{where} button ActionBody")
        text = button.get("Text")
        if text is not None and (not isinstance(text, str) or len(text) > BUTTON_TEXT_LIMIT):
            raise _bad(f"{where} button Text longer than {BUTTON_TEXT_LIMIT}")


def validated(raw: bytes) -> dict[str, Any]:
    try:
        body = parse_json(raw)
    except ValueError:
        raise _bad("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object")
    _string(body, "receiver")
    sender = body.get("sender")
    if not isinstance(sender, dict):
        raise _missing("sender")
    _string(sender, "name", SENDER_NAME_LIMIT)
    version = body.get("min_api_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _bad("min_api_version must be a positive integer")
    kind = body.get("type")
    if kind is None:
        raise _missing("type")
    if kind not in MESSAGE_TYPES:
        raise _bad(f"unknown message type {kind!r}")
    if kind == "text":
        _string(body, "text", TEXT_LIMIT)
    elif kind == "picture":
        _string(body, "media", URL_LIMIT)
        if body.get("text") is not None and (
            not isinstance(body["text"], str) or len(body["text"]) > CAPTION_LIMIT
        ):
            raise _bad(f"text longer than {CAPTION_LIMIT}")
    elif kind in ("video", "file"):
        _string(body, "media", URL_LIMIT)
        size = _integer(body, "size")
        if size > (VIDEO_SIZE_LIMIT if kind == "video" else FILE_SIZE_LIMIT):
            raise _bad("size over the limit")
        if kind == "file":
            name = _string(body, "file_name", FILE_NAME_LIMIT)
            if "." not in name or name.rsplit(".", 1)[1].casefold() in EXECUTABLES:
                raise _bad("file_name needs an extension and may not be an executable")
    elif kind == "location":
        location = body.get("location")
        if not isinstance(location, dict):
            raise _missing("location")
        for axis, bound in (("lat", 90), ("lon", 180)):
            value = location.get(axis)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _missing(f"location.{axis}")
            if abs(value) > bound:
                raise _bad(f"location.{axis} out of range")
    elif kind == "contact":
        contact = body.get("contact")
        if not isinstance(contact, dict):
            raise _missing("contact")
        _string(contact, "name", CONTACT_NAME_LIMIT)
        _string(contact, "phone_number", PHONE_NUMBER_LIMIT)
    elif kind == "url":
        _string(body, "media", URL_LIMIT)
    elif kind == "sticker":
        _integer(body, "sticker_id")
    elif kind == "rich_media":
        if version < 2:
            raise Refused(14, "incompatibleWithVersion: rich_media needs min_api_version 2")
        rich = body.get("rich_media")
        if not isinstance(rich, dict):
            raise _missing("rich_media")
        columns, rows = rich.get("ButtonsGroupColumns", 6), rich.get("ButtonsGroupRows", 7)
        if not isinstance(columns, int) or not 1 <= columns <= 6:
            raise _bad("rich_media.ButtonsGroupColumns must be 1-6")
        if not isinstance(rows, int) or not 1 <= rows <= 7:
            raise _bad("rich_media.ButtonsGroupRows must be 1-7")
        _buttons(rich.get("Buttons"), "rich_media", 7, None)
    keyboard = body.get("keyboard")
    if keyboard is not None:
        if not isinstance(keyboard, dict):
            raise _bad("keyboard must be an object")
        _buttons(keyboard.get("Buttons"), "keyboard", 2, KEYBOARD_BUTTONS)
    return body


# --- what a person sees ------------------------------------------------------------------------


def _plain(text: str) -> str:
    return re.sub(r"<[^>]+>", "", re.sub(r"<br\s*/?>", "\n", text, flags=re.IGNORECASE))


def _button_lines(buttons: list[dict[str, Any]]) -> list[str]:
    lines = []
    for button in buttons:
        if button.get("Image"):
            lines.append(f"[image] {button['Image']}")
        text = button.get("Text")
        if text and button.get("ActionType", "reply") == "none":
            lines.append(_plain(text))
        elif text:
            lines.append(f"[{_plain(text)}]")
    return lines


def seen_text(body: dict[str, Any]) -> str:
    """The message as a person sees it on the handset."""
    kind = body["type"]
    lines: list[str]
    if kind == "text":
        lines = [body["text"]]
    elif kind == "picture":
        lines = [f"[picture] {body['media']}", body.get("text") or ""]
    elif kind == "video":
        lines = [f"[video] {body['media']}"]
    elif kind == "file":
        lines = [f"[file] {body['file_name']} {body['media']}"]
    elif kind == "location":
        lines = [f"[location] {body['location']['lat']},{body['location']['lon']}"]
    elif kind == "contact":
        lines = [f"[contact] {body['contact']['name']} {body['contact']['phone_number']}"]
    elif kind == "url":
        lines = [body["media"]]
    elif kind == "sticker":
        lines = [f"[sticker {body['sticker_id']}]"]
    else:
        lines = _button_lines(body["rich_media"]["Buttons"])
    keyboard = body.get("keyboard")
    if isinstance(keyboard, dict):
        lines.extend(_button_lines(keyboard.get("Buttons") or []))
    return "\n".join(line for line in lines if line)


# --- outcomes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: int  # the send call's Viber status; 0 = accepted
    report: str | None  # delivered | failed | None (no callback)
    desc: str = ""
    consumed_fail_next: bool = False


def outcome_for(settings: dict[str, Any]) -> Outcome:
    if settings.get("capability") == "NO_CAPABILITY":  # no Viber user: nothing to subscribe
        return Outcome(RECEIVER_NOT_REGISTERED, None)
    if not settings.get("subscribed", True):
        return Outcome(6, None)
    if not settings.get("reachable", True):
        return Outcome(0, "failed", "the receiver's device is unreachable")
    fail_next = settings.get("fail_next")
    if fail_next == FAILED:
        return Outcome(0, "failed", "simulated delivery failure", consumed_fail_next=True)
    if fail_next is not None:
        return Outcome(int(fail_next), None, consumed_fail_next=True)
    if settings.get("auto_deliver", True):
        return Outcome(0, "delivered")
    return Outcome(0, None)


async def queue_callback(
    session: AsyncSession, app: App, url: str, native: dict[str, Any], *, dedup_key: str
) -> None:
    """Post a Viber callback later, durably (the generic `simulator.send_report` job), in order
    with the other callbacks about the same message token (`delivered` before `seen`)."""
    await queue_webhook(
        session,
        app,
        Channel.VIBER,
        url,
        native,
        dedup_key=dedup_key,
        ordering_key=f"{SEND_REPORT}:viber:{native['message_token']}",
    )


# --- the API ------------------------------------------------------------------------------------


async def authorised_app(session: AsyncSession, token: str | None) -> App:
    """The bot (app) whose VIBER credential holds this auth token, oldest first."""
    if not token:
        raise Refused(2)
    escaped = token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    candidates = await session.scalars(
        select(App)
        .where(cast(App.channel_credentials, String).like(f"%{escaped}%", escape="\\"))
        .order_by(App.id)
    )
    for app in candidates:
        for credential in app.channel_credentials or []:
            held = str((credential.get("static_token") or {}).get("token") or "")
            if credential.get("channel") == Channel.VIBER and hmac.compare_digest(
                held.encode(), token.encode()
            ):
                return app
    raise Refused(2)


def viber_credential(app: App | None) -> dict[str, Any] | None:
    for credential in (app.channel_credentials if app is not None else None) or []:
        if credential.get("channel") == Channel.VIBER:
            return credential
    return None


@router.post("/send_message")
async def send_message(request: Request, session: AsyncSession = WriteSession) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    raw = await request.body()
    try:
        app = await authorised_app(session, request.headers.get("x-viber-auth-token"))
        body = validated(raw)
        receiver = body["receiver"]
        if not USER_ID.match(receiver):
            raise Refused(RECEIVER_NOT_REGISTERED)
    except Refused as refused:
        return refused.response
    handset = await repository.handset_for_update(session, Channel.VIBER, receiver)
    outcome = outcome_for(settings_of(handset))
    if outcome.consumed_fail_next:
        handset.settings = {**handset.settings, "fail_next": None}
    if outcome.status != 0:
        return viber_status(outcome.status)
    token = new_token()
    now = utcnow()
    await repository.add_message(
        session,
        SimulatedMessage(
            channel=Channel.VIBER,
            identity=receiver,
            direction="received",
            native_id=str(token),
            text=seen_text(body),
            request=body,
            status=outcome.report or "sent",
            at=now,
        ),
    )
    url = runtime.inbound_url(Channel.VIBER, app.id)
    settings = settings_of(handset)
    reports: list[dict[str, Any]] = []
    if outcome.report == "failed":
        reports.append({"event": "failed", "desc": outcome.desc})
    elif outcome.report == "delivered":
        reports.append({"event": "delivered"})
        if settings.get("auto_read", True):
            reports.append({"event": "seen"})
    for report in reports:
        native = {
            "event": report["event"],
            "timestamp": timestamp_ms(),
            "chat_hostname": CHAT_HOSTNAME,
            "message_token": token,
            "user_id": receiver,
            **({"desc": report["desc"]} if "desc" in report else {}),
        }
        await queue_callback(
            session, app, url, native, dedup_key=f"{SEND_REPORT}:viber:{token}:{report['event']}"
        )
    return JSONResponse(
        {
            "status": 0,
            "status_message": "ok",
            "message_token": token,
            "chat_hostname": CHAT_HOSTNAME,
            "billing_status": 0,
        }
    )


@router.post("/set_webhook")
async def set_webhook(request: Request, session: AsyncSession = WriteSession) -> JSONResponse:
    raw = await request.body()  # before any statement: see inbound/routes.py
    try:
        app = await authorised_app(session, request.headers.get("x-viber-auth-token"))
        try:
            body = parse_json(raw)
        except ValueError:
            raise _bad("the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise _bad("the body must be a JSON object")
        url = _string(body, "url")
        if not url.startswith(("http://", "https://")):
            raise Refused(1, "invalidUrl")
        events = body.get("event_types")
        if events is not None and not isinstance(events, list):
            raise _bad("event_types must be a list")
    except Refused as refused:
        return refused.response
    token = new_token()
    await queue_callback(
        session,
        app,
        url,
        {
            "event": "webhook",
            "timestamp": timestamp_ms(),
            "chat_hostname": CHAT_HOSTNAME,
            "message_token": token,
        },
        dedup_key=f"{SEND_REPORT}:viber:{token}:webhook",
    )
    chosen = (
        events
        if events is not None
        else ["delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started"]
    )
    return JSONResponse(
        {"status": 0, "status_message": "ok", "chat_hostname": CHAT_HOSTNAME, "event_types": chosen}
    )


# --- what a handset sends ------------------------------------------------------------------------


def handset_content(message: ContactMessage) -> tuple[dict[str, Any], str]:
    """The Viber `message` object a handset sends for a contact message, and its text."""
    if message.text_message is not None:
        text = message.text_message.text
        return {"type": "text", "text": text}, text
    if message.choice_response_message is not None:
        # Tapping a reply button sends its ActionBody: the envelope with the postback data.
        reply = message.choice_response_message
        text = f"{reply.message_id}:{reply.postback_data}"
        return {"type": "text", "text": text}, text
    if message.media_card_message is not None:
        card = message.media_card_message
        native = {"type": "picture", "media": card.url, "text": card.caption or ""}
        return native, f"[picture] {card.url}\n{card.caption or ''}".rstrip()
    if message.media_message is not None:
        url = message.media_message.url
        kind = media_kind(url)
        if kind == "image":
            return {"type": "picture", "media": url}, f"[picture] {url}"
        if kind == "video":
            return {"type": "video", "media": url, "size": 1024}, f"[video] {url}"
        name = message.media_message.filename_override or file_name_of(url)
        return {"type": "file", "media": url, "size": 1024, "file_name": name}, f"[file] {name}"
    if message.location_message is not None:
        coordinates = message.location_message.coordinates
        native = {
            "type": "location",
            "location": {"lat": coordinates.latitude, "lon": coordinates.longitude},
        }
        return native, f"[location] {coordinates.latitude},{coordinates.longitude}"
    raise invalid(
        message.content_kind,
        "a Viber handset sends text, media, media cards, locations and button replies",
    )


class ViberSimulator(SimulatedChannel):
    channel = Channel.VIBER
    router = router
    reports_subscription = True

    def handset_message(self, app: App, identity: str, message: ContactMessage) -> HandsetMessage:
        content, text = handset_content(message)
        token = new_token()
        native = {
            "event": "message",
            "timestamp": timestamp_ms(),
            "chat_hostname": CHAT_HOSTNAME,
            "message_token": token,
            "sender": {
                "id": identity,
                "name": "Simulated user",
                "language": "en",
                "country": "SE",
                "api_version": 10,
            },
            "message": content,
            "silent": False,
        }
        return HandsetMessage(native=native, native_id=str(token), text=text)

    def subscription_callback(
        self, app: App, identity: str, subscribed: bool
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """Viber's `subscribed {user}` / `unsubscribed {user_id}` event (§3.7)."""
        if viber_credential(app) is None:
            return None
        common = {"timestamp": timestamp_ms(), "chat_hostname": CHAT_HOSTNAME}
        if subscribed:
            native = {
                "event": "subscribed",
                **common,
                "user": {
                    "id": identity,
                    "name": "Simulated user",
                    "language": "en",
                    "country": "SE",
                    "api_version": 10,
                },
                "message_token": new_token(),
            }
        else:
            native = {
                "event": "unsubscribed",
                **common,
                "user_id": identity,
                "message_token": new_token(),
            }
        return native, {}

    def valid_identity(self, identity: str) -> bool:
        return bool(USER_ID.match(identity))

    def check_fail_next(self, value: Any) -> Any:
        """A non-zero Viber status (the send call answers it), or "failed" (a `failed`
        callback after acceptance)."""
        if value == FAILED:
            return FAILED
        code = numeric_code(value)
        return code if code is not None and 1 <= code <= 999 else None

    def webhook_headers(
        self, app: App | None, body: bytes, context: dict[str, Any]
    ) -> dict[str, str]:
        credential = viber_credential(app)
        key = signing_key(credential) if credential is not None else ""
        return {SIGNATURE_HEADER: signature(key, body)} if key else {}


SIMULATOR = ViberSimulator()
