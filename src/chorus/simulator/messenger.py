"""The simulator's Messenger side: a fake of the Messenger Platform Send API (CHANNELS.md part 2
§1.3) and the webhooks its handsets cause (§1.7), signed with `X-Hub-Signature-256`.

`POST /simulator/messenger/me/messages` (also under a `/v{version}` prefix) checks what the
Graph API checks, answering Graph errors `{"error": {"message", "type", "code",
"error_subcode", "fbtrace_id"}}`:
- the Page access token (Bearer header or `access_token` query) belongs to an app's MESSENGER
  credential, else 400 code 190 (none given: code 2500);
- the body is well formed (recipient, messaging_type, notification_type, tag, exactly one of
  `message` / `sender_action`, the §1.4 limits), else 400 code 100;
- the PSID has written to a Page (a message in the handset's inbox: the business cannot
  write first, not even to a handset made by a PATCH of its settings), and its `capability`
  is not NO_CAPABILITY (no Messenger user), else 400 `100/2018001`;
- the handset is `reachable`, else 400 `551/1545041`;
- the standard messaging window: an untagged message more than 24 h after the handset's last
  message (7 days with `HUMAN_AGENT`; other tags pass) → 400 `10/2018278`;
- `fail_next` → that error once (500 for the temporary codes 1, 2 and 1200).
A failed send never causes a webhook. An accepted message is recorded in the handset's inbox
with the text a person sees, answered `{"recipient_id", "message_id"}`, and followed by a
`delivery` webhook when `auto_deliver` and a `read` webhook when `auto_read`.
"""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import String, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.channels.messenger.connector import (
    HUMAN_AGENT_WINDOW,
    PSID,
    STANDARD_WINDOW,
)
from chorus.channels.messenger.transcode import (
    BUTTON_TEXT_LIMIT,
    BUTTON_TITLE_LIMIT,
    ELEMENT_SUBTITLE_LIMIT,
    ELEMENT_TITLE_LIMIT,
    MAX_BUTTONS,
    MAX_ELEMENTS,
    MAX_QUICK_REPLIES,
    MESSAGING_TYPES,
    NOTIFICATION_TYPES,
    PAYLOAD_LIMIT,
    QUICK_REPLY_TITLE_LIMIT,
    TEXT_LIMIT,
    attachment_type,
)
from chorus.channels.meta import signature
from chorus.kit.clock import utcnow
from chorus.kit.db import ReadSession, WriteSession
from chorus.kit.errors import invalid
from chorus.kit.ids import new_id
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

router = APIRouter(prefix="/simulator/messenger", tags=["simulator"])

SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen")
BUTTON_TYPES = ("web_url", "postback", "phone_number")
ATTACHMENT_TYPES = ("image", "video", "audio", "file", "template")
TEMPLATE_TYPES = ("button", "generic")

# The Graph error codes of §1.3 that `fail_next` may name, and their texts.
ERROR_TEXTS = {
    1: "An unknown error occurred",
    2: "An unexpected error has occurred. Please retry your request later.",
    4: "(#4) Application request limit reached",
    10: "(#10) This message is sent outside of allowed window.",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    100: "(#100) Invalid parameter",
    190: "Invalid OAuth access token - Cannot parse access token",
    200: "(#200) Requires pages_messaging permission to manage the object",
    230: "(#230) Requires pages_messaging_subscriptions permission to manage the object",
    551: "(#551) This person isn't available right now.",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    1200: "(#1200) Temporary send message failure. Please try again later",
}
SERVER_ERRORS = frozenset({1, 2, 1200})


class GraphError(Exception):
    def __init__(self, code: int, message: str, subcode: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.subcode = code, message, subcode

    def response(self) -> JSONResponse:
        error: dict[str, Any] = {
            "message": self.message,
            "type": "OAuthException",
            "code": self.code,
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["fbtrace_id"] = new_id()[-11:]
        status = 500 if self.code in SERVER_ERRORS else 400
        return JSONResponse({"error": error}, status_code=status)


def parameter_error(text: str) -> GraphError:
    return GraphError(100, f"(#100) {text}")


def page_id(app: App) -> str:
    """The simulated Page of an app: a stable number derived from its id."""
    return str(int(hashlib.sha256(app.id.encode()).hexdigest()[:13], 16))


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# --- request validation ----------------------------------------------------------------------


def _check_buttons(buttons: Any, where: str) -> None:
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
        raise parameter_error(f"param {where} must be an array of 1 to {MAX_BUTTONS} buttons")
    for button in buttons:
        if not isinstance(button, dict) or button.get("type") not in BUTTON_TYPES:
            raise parameter_error(f"param {where}[type] must be one of {', '.join(BUTTON_TYPES)}")
        title = button.get("title")
        if not isinstance(title, str) or not title or len(title) > BUTTON_TITLE_LIMIT:
            raise parameter_error(
                f"param {where}[title] must be 1 to {BUTTON_TITLE_LIMIT} characters"
            )
        if button["type"] == "web_url" and not str(button.get("url") or "").startswith(
            ("http://", "https://")
        ):
            raise parameter_error(f"param {where}[url] must be a URL")
        if button["type"] != "web_url":
            payload = button.get("payload")
            if not isinstance(payload, str) or not payload or len(payload) > PAYLOAD_LIMIT:
                raise parameter_error(
                    f"param {where}[payload] must be 1 to {PAYLOAD_LIMIT} characters"
                )


def _check_template(payload: dict[str, Any]) -> None:
    kind = payload.get("template_type")
    if kind not in TEMPLATE_TYPES:
        raise parameter_error("param message[attachment][payload][template_type] is not supported")
    if kind == "button":
        text = payload.get("text")
        if not isinstance(text, str) or not text or len(text) > BUTTON_TEXT_LIMIT:
            raise parameter_error(
                f"Length of param message[attachment][payload][text] must be less than or "
                f"equal to {BUTTON_TEXT_LIMIT}"
            )
        _check_buttons(payload.get("buttons"), "buttons")
        return
    elements = payload.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= MAX_ELEMENTS:
        raise parameter_error(f"param elements must be an array of 1 to {MAX_ELEMENTS} elements")
    for element in elements:
        if not isinstance(element, dict):
            raise parameter_error("param elements must hold objects")
        title = element.get("title")
        if not isinstance(title, str) or not title or len(title) > ELEMENT_TITLE_LIMIT:
            raise parameter_error(f"param title must be 1 to {ELEMENT_TITLE_LIMIT} characters")
        subtitle = element.get("subtitle")
        if subtitle is not None and (
            not isinstance(subtitle, str) or len(subtitle) > ELEMENT_SUBTITLE_LIMIT
        ):
            raise parameter_error(f"param subtitle must be at most {ELEMENT_SUBTITLE_LIMIT}")
        if "buttons" in element:
            _check_buttons(element["buttons"], "elements[buttons]")


def _check_message(message: Any) -> None:
    if not isinstance(message, dict):
        raise parameter_error("param message must be an object")
    text, attachment = message.get("text"), message.get("attachment")
    if (text is None) == (attachment is None):
        raise parameter_error("param message must have exactly one of text or attachment")
    if text is not None:
        if not isinstance(text, str) or not text:
            raise parameter_error("param message[text] must be a non-empty UTF-8 encoded string")
        if len(text) > TEXT_LIMIT:
            raise parameter_error(
                f"Length of param message[text] must be less than or equal to {TEXT_LIMIT}"
            )
    if attachment is not None:
        if not isinstance(attachment, dict) or attachment.get("type") not in ATTACHMENT_TYPES:
            raise parameter_error(
                "param message[attachment][type] must be one of " + ", ".join(ATTACHMENT_TYPES)
            )
        payload = attachment.get("payload")
        if not isinstance(payload, dict):
            raise parameter_error("param message[attachment][payload] must be an object")
        if attachment["type"] == "template":
            _check_template(payload)
        elif not str(payload.get("url") or "").startswith(("http://", "https://")):
            raise parameter_error("param message[attachment][payload][url] must be a URL")
    replies = message.get("quick_replies")
    if replies is not None:
        if not isinstance(replies, list) or not 1 <= len(replies) <= MAX_QUICK_REPLIES:
            raise parameter_error(
                f"param message[quick_replies] must be an array of 1 to {MAX_QUICK_REPLIES}"
            )
        for reply in replies:
            if not isinstance(reply, dict) or reply.get("content_type") not in (
                "text",
                "user_phone_number",
                "user_email",
            ):
                raise parameter_error("param message[quick_replies][content_type] is invalid")
            if reply["content_type"] != "text":
                continue
            title, payload = reply.get("title"), reply.get("payload")
            if not isinstance(title, str) or not title or len(title) > QUICK_REPLY_TITLE_LIMIT:
                raise parameter_error(
                    f"param message[quick_replies][title] must be 1 to "
                    f"{QUICK_REPLY_TITLE_LIMIT} characters"
                )
            if not isinstance(payload, str | int) or len(str(payload)) > PAYLOAD_LIMIT:
                raise parameter_error(
                    f"param message[quick_replies][payload] must be at most {PAYLOAD_LIMIT}"
                )


def validated_body(raw: bytes) -> dict[str, Any]:
    try:
        body = parse_json(raw)
    except ValueError:
        raise parameter_error("Invalid JSON for postbody") from None
    if not isinstance(body, dict):
        raise parameter_error("Invalid JSON for postbody")
    recipient = body.get("recipient")
    if not isinstance(recipient, dict) or not recipient.get("id"):
        raise parameter_error("The parameter recipient is required")
    if not PSID.match(str(recipient["id"])):
        raise GraphError(100, "(#100) No matching user found", 2018001)
    has_message, has_action = "message" in body, "sender_action" in body
    if has_message == has_action:
        raise parameter_error("Exactly one of message or sender_action is required")
    if has_action:
        if body["sender_action"] not in SENDER_ACTIONS:
            raise parameter_error("param sender_action must be one of " + ", ".join(SENDER_ACTIONS))
        return body
    messaging_type = body.get("messaging_type")
    if messaging_type not in MESSAGING_TYPES:
        raise parameter_error("param messaging_type must be one of " + ", ".join(MESSAGING_TYPES))
    if messaging_type == "MESSAGE_TAG" and not body.get("tag"):
        raise parameter_error("param tag is required with messaging_type MESSAGE_TAG")
    notification = body.get("notification_type", "REGULAR")
    if notification not in NOTIFICATION_TYPES:
        raise parameter_error(
            "param notification_type must be one of " + ", ".join(NOTIFICATION_TYPES)
        )
    _check_message(body["message"])
    return body


# --- what a person sees ------------------------------------------------------------------------


def visible_text(body: dict[str, Any]) -> str:
    """The text a person sees for a Send API body: texts, media URLs, template titles, and
    `[button]` lines for buttons and quick replies."""
    if "sender_action" in body:
        return f"({body['sender_action']})"
    message = body["message"]
    lines: list[str] = []
    if message.get("text"):
        lines.append(message["text"])
    attachment = message.get("attachment") or {}
    payload = attachment.get("payload") or {}
    if attachment.get("type") == "template":
        if payload.get("template_type") == "button":
            lines.append(payload["text"])
            lines.extend(_button_lines(payload.get("buttons")))
        else:
            for element in payload.get("elements") or []:
                lines.extend(
                    str(element[key])
                    for key in ("title", "subtitle", "image_url")
                    if element.get(key)
                )
                lines.extend(_button_lines(element.get("buttons")))
    elif attachment:
        lines.append(str(payload.get("url")))
    lines.extend(f"[{r['title']}]" for r in message.get("quick_replies") or [] if r.get("title"))
    return "\n".join(lines)


def _button_lines(buttons: Any) -> list[str]:
    lines = []
    for button in buttons or []:
        target = button.get("url") or (
            button.get("payload") if button.get("type") == "phone_number" else None
        )
        lines.append(f"[{button['title']}: {target}]" if target else f"[{button['title']}]")
    return lines


# --- the Send API ---------------------------------------------------------------------------


def access_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.query_params.get("access_token") or None


async def app_for_token(session: AsyncSession, token: str) -> App | None:
    """The app whose MESSENGER credential holds this Page access token (oldest first)."""
    escaped = token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    candidates = await session.scalars(
        select(App)
        .where(cast(App.channel_credentials, String).like(f"%{escaped}%", escape="\\"))
        .order_by(App.id)
    )
    for app in candidates:
        for credential in app.channel_credentials or []:
            stored = str((credential.get("static_token") or {}).get("token") or "")
            if credential.get("channel") == Channel.MESSENGER and hmac.compare_digest(
                stored.encode(), token.encode()
            ):
                return app
    return None


async def last_written(session: AsyncSession, psid: str) -> datetime | None:
    """When the handset last wrote (to any Page); None when it never did. Meta issues a PSID
    only when its person writes, so until then the Send API knows no such user — even when
    the handset exists from a PATCH of its settings."""
    inbox = await repository.inbox(session, Channel.MESSENGER, psid)
    return _aware(max((m.at for m in inbox if m.direction == "sent"), default=None))


def window_error(body: dict[str, Any], last_inbound: datetime | None) -> GraphError | None:
    if "sender_action" in body:
        return None
    tag = body.get("tag") if body.get("messaging_type") == "MESSAGE_TAG" else None
    if tag and tag != "HUMAN_AGENT":  # the other tags have no time limit
        return None
    window: timedelta = HUMAN_AGENT_WINDOW if tag == "HUMAN_AGENT" else STANDARD_WINDOW
    if last_inbound is not None and utcnow() - last_inbound <= window:
        return None
    return GraphError(10, ERROR_TEXTS[10], 2018278)


def fail_next_error(value: Any) -> GraphError:
    code, _, subcode = str(value).partition("/")
    number = int(code)
    return GraphError(
        number, ERROR_TEXTS.get(number, f"(#{number}) Error"), int(subcode) if subcode else None
    )


@router.get("/{psid}")
@router.get("/{version}/{psid}")
async def user_profile(
    psid: str, request: Request, session: AsyncSession = ReadSession
) -> JSONResponse:
    """The Graph API's user profile of a PSID: its name for a Page whose token is given,
    once the user has written (`last_written`). Only `first_name` and
    `last_name`, as chorus asks for."""
    token = access_token(request)
    if token is None:
        return GraphError(2500, "An active access token must be used.").response()
    if await app_for_token(session, token) is None:
        return GraphError(190, ERROR_TEXTS[190]).response()
    if not PSID.match(psid) or await last_written(session, psid) is None:
        return GraphError(100, f"(#100) No profile available for {psid}", 2018218).response()
    return JSONResponse({"first_name": "Simulated", "last_name": "user", "id": psid})


@router.post("/me/messages")
@router.post("/{version}/me/messages")
async def send_message(request: Request, session: AsyncSession = WriteSession) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    token = access_token(request)
    raw = await request.body()  # before any statement: see inbound/routes.py
    try:
        if token is None:
            raise GraphError(
                2500,
                "An active access token must be used to query information about the current user.",
            )
        app = await app_for_token(session, token)
        if app is None:
            raise GraphError(190, ERROR_TEXTS[190])
        body = validated_body(raw)
        psid = str(body["recipient"]["id"])
        handset = await repository.get_handset(session, Channel.MESSENGER, psid, for_update=True)
        last_inbound = await last_written(session, psid)
        settings = settings_of(handset)
        # NO_CAPABILITY: the PSID is no Messenger user's.
        if handset is None or last_inbound is None or settings["capability"] == "NO_CAPABILITY":
            raise GraphError(100, "(#100) No matching user found", 2018001)
        if not settings.get("reachable", True):
            raise GraphError(551, ERROR_TEXTS[551], 1545041)
        outside = window_error(body, last_inbound)
        if outside is not None:
            raise outside
        if settings.get("fail_next") is not None:
            failure = fail_next_error(settings["fail_next"])
            handset.settings = {**handset.settings, "fail_next": None}
            raise failure
    except GraphError as error:
        return error.response()
    now = utcnow()
    if "sender_action" in body:
        await repository.add_message(
            session,
            SimulatedMessage(
                channel=Channel.MESSENGER,
                identity=psid,
                direction="received",
                native_id="",
                text=visible_text(body),
                request=body,
                status="shown",
                at=now,
            ),
        )
        return JSONResponse({"recipient_id": psid})
    mid = "m_" + new_id()
    delivered, read = settings.get("auto_deliver", True), settings.get("auto_read", True)
    await repository.add_message(
        session,
        SimulatedMessage(
            channel=Channel.MESSENGER,
            identity=psid,
            direction="received",
            native_id=mid,
            text=visible_text(body),
            request=body,
            status="read" if delivered and read else "delivered" if delivered else "sent",
            at=now,
        ),
    )
    url = runtime.inbound_url(Channel.MESSENGER, app.id)
    page = page_id(app)
    if delivered:
        report = {"mids": [mid], "watermark": millis(now)}
        await queue_webhook(
            session,
            app,
            Channel.MESSENGER,
            url,
            webhook(page, psid, {"delivery": report}),
            dedup_key=f"{SEND_REPORT}:messenger:{mid}:delivery",
            # Read watermarks cover what was delivered before: post them in order.
            ordering_key=f"messenger:{psid}",
        )
        if read:
            await queue_webhook(
                session,
                app,
                Channel.MESSENGER,
                url,
                webhook(page, psid, {"read": {"watermark": millis(now)}}),
                dedup_key=f"{SEND_REPORT}:messenger:{mid}:read",
                ordering_key=f"messenger:{psid}",
            )
    return JSONResponse({"recipient_id": psid, "message_id": mid})


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def webhook(page: str, psid: str, event: dict[str, Any]) -> dict[str, Any]:
    """A `page` webhook holding one messaging event from `psid`."""
    now = millis(utcnow())
    return {
        "object": "page",
        "entry": [
            {
                "id": page,
                "time": now,
                "messaging": [
                    {
                        "sender": {"id": psid},
                        "recipient": {"id": page},
                        "timestamp": now,
                        **event,
                    }
                ],
            }
        ],
    }


# --- what a handset sends -------------------------------------------------------------------


def handset_event(message: ContactMessage) -> tuple[dict[str, Any], str]:
    """The messaging event (without sender / recipient / timestamp) a handset's contact
    message becomes, and the text the person sees."""
    mid = "m_" + new_id()
    match message.content_kind:
        case "text_message":
            text = message.text_message.text  # type: ignore[union-attr]
            return {"message": {"mid": mid, "text": text}}, text
        case "media_message":
            url = message.media_message.url  # type: ignore[union-attr]
            return {"message": {"mid": mid, "attachments": [_media(url)]}}, url
        case "media_card_message":
            card = message.media_card_message
            assert card is not None
            content: dict[str, Any] = {"mid": mid, "attachments": [_media(card.url)]}
            if card.caption:
                content["text"] = card.caption
            return {"message": content}, "\n".join(filter(None, [card.caption, card.url]))
        case "location_message":
            location = message.location_message
            assert location is not None
            coordinates = {
                "lat": location.coordinates.latitude,
                "long": location.coordinates.longitude,
            }
            attachment = {
                "type": "location",
                "title": location.title,
                "payload": {"coordinates": coordinates},
            }
            shown = f"{location.title} ({coordinates['lat']}, {coordinates['long']})".strip()
            return {"message": {"mid": mid, "attachments": [attachment]}}, shown
        case "choice_response_message":
            choice = message.choice_response_message
            assert choice is not None
            if not choice.message_id:
                # A persistent-menu or "Get started" button: a postback with its own payload.
                postback = {
                    "mid": mid,
                    "title": choice.postback_data,
                    "payload": choice.postback_data,
                }
                return {"postback": postback}, choice.postback_data
            title = choice.postback_data
            default = f"{choice.message_id}_"
            if title.startswith(default):
                title = title[len(default) :]
            payload = f"{choice.message_id}:{choice.postback_data}"
            quick_reply = {"mid": mid, "text": title, "quick_reply": {"payload": payload}}
            return {"message": quick_reply}, title
    raise invalid(
        message.content_kind,
        "a Messenger handset sends text, media, media cards, locations and choice responses",
    )


def _media(url: str) -> dict[str, Any]:
    return {"type": attachment_type(url), "payload": {"url": url}}


def messenger_secret(app: App | None) -> str:
    for credential in (app.channel_credentials or []) if app is not None else []:
        if credential.get("channel") == Channel.MESSENGER:
            return str(credential.get("callback_secret") or "")
    return ""


class MessengerSimulator(SimulatedChannel):
    channel = Channel.MESSENGER
    router = router
    handsets_write_first = False
    replies_in_context = True

    def handset_message(self, app: App, identity: str, message: ContactMessage) -> HandsetMessage:
        event, text = handset_event(message)
        native = webhook(page_id(app), identity, event)
        inner = event.get("message") or event.get("postback") or {}
        return HandsetMessage(native=native, native_id=str(inner.get("mid", "")), text=text)

    def add_reply_context(self, native: dict[str, Any], replied_native_id: str) -> None:
        """`message.reply_to {mid}` (§1.7); a postback is no message and quotes none."""
        event = native["entry"][0]["messaging"][0]
        if "message" not in event:
            raise invalid("reply_to", "a Messenger postback (a menu button) answers no message")
        event["message"]["reply_to"] = {"mid": replied_native_id}

    def valid_identity(self, identity: str) -> bool:
        return bool(PSID.match(identity))

    def check_fail_next(self, value: Any) -> Any:
        """A Graph error code of §1.3, as `code` or `"code/subcode"`."""
        if isinstance(value, int):
            return value if numeric_code(value) in ERROR_TEXTS else None
        if isinstance(value, str):
            code, slash, subcode = value.strip().partition("/")
            number = numeric_code(code)
            if number not in ERROR_TEXTS:
                return None
            if not slash:
                return number
            sub = numeric_code(subcode)
            return f"{number}/{sub}" if sub is not None else None
        return None

    def webhook_headers(
        self, app: App | None, body: bytes, context: dict[str, Any]
    ) -> dict[str, str]:
        secret = messenger_secret(app)
        return {"x-hub-signature-256": signature(secret, body)} if secret else {}


SIMULATOR = MessengerSimulator()
