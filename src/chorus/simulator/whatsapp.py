"""The simulator's WhatsApp side: a fake of the WhatsApp Business Cloud API (CHANNELS.md part 1
§2.3) and the webhooks its handsets cause (§2.7).

`POST /simulator/whatsapp/{version}/{phone_number_id}/messages` checks what the Cloud API
checks — a Bearer token (401, Graph code 190), a phone-number id some app holds with that token
(400, code 100), a well-formed body (400, codes 100 / 131009 / 131051) — answers 200 with the
`wamid`, records the message in the handset's inbox with the text a person sees, and queues the
statuses webhook, signed with `X-Hub-Signature-256` (HMAC-SHA256 of the body keyed with the
app's `callback_secret`), to chorus.

Outcome per message, in this order (the Cloud API accepts first and reports failures as
`failed` statuses):
1. the handset is not `reachable`, or its `capability` is `NO_CAPABILITY` (not a WhatsApp
   user) → `failed` 131026;
2. a free-form message more than 24 h after the handset last wrote to this number → `failed`
   131047 (templates are always allowed);

A template send is checked first, synchronously as Graph does: a (name, language) the
account has not approved → 400 with code 132001, parameter counts that differ from the
approved template's → 400 with 132000 (approved templates: `whatsapp_templates.py`).
3. `fail_next` is set → `failed` with that code, and `fail_next` clears;
4. `auto_deliver` → `sent`, `delivered` (and `read` with `auto_read`) in one webhook;
   otherwise only `sent`.

`GET /simulator/whatsapp/{version}/{media_id}` resolves the media ids of handset media (the id
encodes the URL the handset "uploaded").
"""

import base64
import binascii
import hashlib
import hmac
import json
import mimetypes
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.channels.meta import SIGNATURE_HEADER, signature
from chorus.channels.whatsapp.connector import MSISDN, SERVICE_WINDOW
from chorus.channels.whatsapp.transcode import (
    BUTTON_TITLE_LIMIT,
    CAPTIONED_KINDS,
    INTERACTIVE_BODY_LIMIT,
    LIST_BUTTON_LIMIT,
    MAX_BUTTONS,
    MAX_LIST_ROWS,
    MEDIA_KINDS,
    ROW_TITLE_LIMIT,
    TEXT_LIMIT,
    media_kind,
    url_filename,
)
from chorus.kit.clock import utcnow
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
    numeric_code,
    parse_json,
    queue_webhook,
)
from chorus.simulator.handsets import settings_of
from chorus.simulator.whatsapp_templates import (
    PARAMETER_MISMATCH,
    TEMPLATE_MISSING,
    check_template,
)
from chorus.wire.enums import Channel
from chorus.wire.messages import ContactMessage

# The simulated WhatsApp Business Account every simulated number belongs to.
SIMULATED_WABA_ID = "100000000000001"
MESSAGE_TYPES = frozenset(
    {"text", *MEDIA_KINDS, "location", "contacts", "interactive", "template", "reaction"}
)
INTERACTIVE_TYPES = frozenset(
    {
        "button",
        "list",
        "cta_url",
        "product",
        "product_list",
        "flow",
        "order_details",
        "order_status",
    }
)

NOT_DELIVERABLE = 131026
RE_ENGAGEMENT = 131047
# Titles the Cloud API gives its error codes (in `failed` statuses).
ERROR_TITLES = {
    131026: "Message undeliverable",
    131047: "Re-engagement message",
    131048: "Spam rate limit hit",
    131049: "Message not delivered to maintain healthy ecosystem engagement",
    131050: "User stopped marketing messages",
    131052: "Media download error",
    131053: "Media upload error",
    130429: "Rate limit hit",
    131056: "Pair rate limit hit",
    131000: "Something went wrong",
    131021: "Recipient cannot be sender",
    131031: "Account has been locked",
    368: "Temporarily blocked for policies violations",
    TEMPLATE_MISSING: "Template name does not exist in the translation",
    PARAMETER_MISMATCH: "Number of parameters does not match the expected number of params",
}

router = APIRouter(prefix="/simulator/whatsapp", tags=["simulator"])


class GraphRefused(Exception):
    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        kind: str = "OAuthException",
        details: str = "",
    ) -> None:
        super().__init__(message)
        error: dict[str, Any] = {"message": message, "type": kind, "code": code}
        if details:
            error["error_data"] = {"messaging_product": "whatsapp", "details": details}
        error["fbtrace_id"] = base64.urlsafe_b64encode(hashlib.sha1(message.encode()).digest())[
            :23
        ].decode()
        self.response = JSONResponse({"error": error}, status_code=status)


def _invalid_parameter(details: str) -> GraphRefused:
    return GraphRefused(400, 100, "(#100) Invalid parameter", details=details)


def _invalid_value(details: str) -> GraphRefused:
    return GraphRefused(400, 131009, "(#131009) Parameter value is not valid", details=details)


# --- request checks -------------------------------------------------------------------------


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def authorised_app(session: AsyncSession, phone_number_id: str, token: str | None) -> App:
    if token is None:
        raise GraphRefused(401, 190, "An active access token must be used to query information.")
    holders = await repository.apps_with_credential(session, Channel.WHATSAPP, phone_number_id)
    apps = [
        app
        for app, credential in holders
        if hmac.compare_digest(
            str((credential.get("static_bearer") or {}).get("token", "")).encode(), token.encode()
        )
    ]
    if not holders:
        raise GraphRefused(
            400,
            100,
            f"Unsupported post request. Object with ID '{phone_number_id}' does not exist, "
            "cannot be loaded due to missing permissions, or does not support this operation.",
            kind="GraphMethodException",
        )
    if not apps:
        raise GraphRefused(401, 190, "Invalid OAuth access token - Cannot parse access token")
    return apps[0]


def validated_message(raw: bytes) -> dict[str, Any]:
    try:
        body = parse_json(raw)
    except ValueError:
        raise _invalid_parameter("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _invalid_parameter("The request body must be a JSON object")
    if body.get("messaging_product") != "whatsapp":
        raise GraphRefused(400, 100, "(#100) The parameter messaging_product is required.")
    if body.get("recipient_type", "individual") != "individual":
        raise _invalid_parameter("recipient_type must be individual")
    to = body.get("to")
    if not isinstance(to, str) or not MSISDN.match(to.lstrip("+")):
        raise GraphRefused(400, 100, "(#100) The parameter to is required.", details=f"to: {to!r}")
    kind = body.get("type", "text")
    if kind not in MESSAGE_TYPES:
        raise GraphRefused(400, 131051, "(#131051) Unsupported message type", details=str(kind))
    content = body.get(kind)
    if not isinstance(content, dict | list) or not content:
        raise GraphRefused(400, 100, f"(#100) The parameter {kind} is required.")
    if kind == "text":
        text = content.get("body") if isinstance(content, dict) else None
        if not isinstance(text, str) or not text:
            raise GraphRefused(400, 100, "(#100) The parameter text['body'] is required.")
        if len(text) > TEXT_LIMIT:
            raise _invalid_value(f"text['body'] is longer than {TEXT_LIMIT} characters")
    elif kind in MEDIA_KINDS:
        if not isinstance(content, dict) or not (content.get("link") or content.get("id")):
            raise GraphRefused(400, 100, f"(#100) Param {kind}['link'] or {kind}['id'] is required")
    elif kind == "interactive":
        _check_interactive(content)
    elif kind == "template":
        name = content.get("name") if isinstance(content, dict) else None
        language = (content.get("language") or {}) if isinstance(content, dict) else {}
        if not name or not isinstance(language, dict) or not language.get("code"):
            raise GraphRefused(400, 100, "(#100) Param template['name'] and language are required")
    return body


def _check_interactive(interactive: Any) -> None:
    if not isinstance(interactive, dict) or interactive.get("type") not in INTERACTIVE_TYPES:
        raise _invalid_value("interactive['type'] is not a supported interactive type")
    kind = interactive["type"]
    body = (interactive.get("body") or {}).get("text")
    if body is not None and len(body) > INTERACTIVE_BODY_LIMIT:
        raise _invalid_value(f"interactive['body']['text'] exceeds {INTERACTIVE_BODY_LIMIT}")
    action = interactive.get("action")
    if not isinstance(action, dict):
        raise GraphRefused(400, 100, "(#100) The parameter interactive['action'] is required.")
    if kind in ("button", "list", "cta_url") and not body:
        raise GraphRefused(400, 100, "(#100) The parameter interactive['body'] is required.")
    if kind == "button":
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_BUTTONS:
            raise _invalid_value(f"action['buttons'] must hold 1 to {MAX_BUTTONS} buttons")
        for button in buttons:
            title = ((button or {}).get("reply") or {}).get("title") or ""
            if not title or len(title) > BUTTON_TITLE_LIMIT:
                raise _invalid_value(f"button title must be 1 to {BUTTON_TITLE_LIMIT} characters")
    if kind == "list":
        rows = [row for s in action.get("sections") or [] for row in (s or {}).get("rows") or []]
        if not 1 <= len(rows) <= MAX_LIST_ROWS:
            raise _invalid_value(f"a list holds 1 to {MAX_LIST_ROWS} rows")
        if len(str(action.get("button") or "")) > LIST_BUTTON_LIMIT:
            raise _invalid_value(f"action['button'] exceeds {LIST_BUTTON_LIMIT} characters")
        if any(len(str(row.get("title") or "")) > ROW_TITLE_LIMIT for row in rows):
            raise _invalid_value(f"row titles hold at most {ROW_TITLE_LIMIT} characters")


# --- what a person sees ---------------------------------------------------------------------


def visible_text(body: dict[str, Any]) -> str:
    """The text a person sees on the handset for a Cloud API message."""
    kind = body.get("type", "text")
    content = body.get(kind) or {}
    if kind == "text":
        return str(content.get("body", ""))
    if kind in MEDIA_KINDS:
        return "\n".join(
            part
            for part in (content.get("caption"), content.get("link") or content.get("id"))
            if part
        )
    if kind == "location":
        return "\n".join(
            str(part)
            for part in (
                content.get("name"),
                content.get("address"),
                f"{content.get('latitude')},{content.get('longitude')}",
            )
            if part
        )
    if kind == "contacts":
        return "\n".join(
            str(((c or {}).get("name") or {}).get("formatted_name", "")) for c in content
        )
    if kind == "template":
        return f"[template {content.get('name')} ({(content.get('language') or {}).get('code')})]"
    if kind == "interactive":
        lines: list[str] = []
        header = content.get("header") or {}
        if header.get("type") == "text":
            lines.append(str(header.get("text", "")))
        elif header.get("type"):
            lines.append(str((header.get(header["type"]) or {}).get("link", "")))
        lines.append(str((content.get("body") or {}).get("text", "")))
        if content.get("footer"):
            lines.append(str(content["footer"].get("text", "")))
        action = content.get("action") or {}
        for button in action.get("buttons") or []:
            lines.append(f"[{(button.get('reply') or {}).get('title', '')}]")
        if action.get("button"):
            lines.append(f"[{action['button']}]")
        for section in action.get("sections") or []:
            if section.get("title"):
                lines.append(str(section["title"]))
            for row in section.get("rows") or []:
                lines.append(f"- {row.get('title', '')}")
            for item in section.get("product_items") or []:
                lines.append(f"- {item.get('product_retailer_id', '')}")
        parameters = action.get("parameters") or {}
        if action.get("name") == "cta_url":
            lines.append(f"[{parameters.get('display_text')}] {parameters.get('url')}")
        return "\n".join(line for line in lines if line)
    return json.dumps(content, ensure_ascii=False)


# --- outcomes -------------------------------------------------------------------------------


async def wrote_within_window(session: AsyncSession, identity: str, phone_number_id: str) -> bool:
    """Whether the handset wrote to this business number in the last 24 hours."""
    since = utcnow() - SERVICE_WINDOW
    for entry in reversed(await repository.inbox(session, Channel.WHATSAPP, identity)):
        if entry.direction != "sent":
            continue
        at = entry.at if entry.at.tzinfo is not None else entry.at.replace(tzinfo=since.tzinfo)
        if at < since:
            return False
        if _business_of(entry.request) == phone_number_id:
            return True
    return False


def _business_of(webhook: dict[str, Any]) -> str | None:
    try:
        return webhook["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"]
    except (KeyError, IndexError, TypeError):
        return None


def failed_status(wamid: str, identity: str, code: int, at: int) -> dict[str, Any]:
    title = ERROR_TITLES.get(code, f"Error {code}")
    return {
        "id": wamid,
        "status": "failed",
        "timestamp": str(at),
        "recipient_id": identity,
        "errors": [
            {
                "code": code,
                "title": title,
                "message": title,
                "error_data": {"details": f"simulated failure {code}"},
            }
        ],
    }


def plain_status(wamid: str, identity: str, status: str, at: int) -> dict[str, Any]:
    return {"id": wamid, "status": status, "timestamp": str(at), "recipient_id": identity}


def webhook(phone_number_id: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": SIMULATED_WABA_ID,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": display_number(phone_number_id),
                                "phone_number_id": phone_number_id,
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def display_number(phone_number_id: str) -> str:
    return phone_number_id if phone_number_id.isdigit() else "15550000000"


def new_wamid() -> str:
    return "wamid." + base64.b64encode(f"chorus-sim-{new_id()}".encode()).decode().rstrip("=")


# --- the Cloud API endpoints ----------------------------------------------------------------


@router.post("/{version}/{phone_number_id}/messages")
async def send_message(
    version: str, phone_number_id: str, request: Request, session: AsyncSession = WriteSession
) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    raw = await request.body()
    try:
        app = await authorised_app(session, phone_number_id, bearer_token(request))
        body = validated_message(raw)
    except GraphRefused as refused:
        return refused.response
    identity = body["to"].lstrip("+")
    shown: str | None = None
    if body.get("type") == "template":
        checked = await check_template(session, phone_number_id, body["template"])
        if isinstance(checked, tuple):
            code, details = checked
            return GraphRefused(
                400, code, f"(#{code}) {ERROR_TITLES[code]}", details=details
            ).response
        shown = checked
    wamid = new_wamid()
    now = utcnow()
    handset = await repository.handset_for_update(session, Channel.WHATSAPP, identity)
    settings = settings_of(handset)
    failure: int | None = None
    if not settings.get("reachable", True) or settings.get("capability") == "NO_CAPABILITY":
        failure = NOT_DELIVERABLE
    elif body.get("type") != "template" and not await wrote_within_window(
        session, identity, phone_number_id
    ):
        failure = RE_ENGAGEMENT
    elif settings.get("fail_next") is not None:
        failure = int(settings["fail_next"])
        handset.settings = {**handset.settings, "fail_next": None}
    stamp = int(time.time())
    if failure is not None:
        statuses = [failed_status(wamid, identity, failure, stamp)]
        outcome = "failed"
    elif settings.get("auto_deliver", True):
        statuses = [
            plain_status(wamid, identity, "sent", stamp),
            plain_status(wamid, identity, "delivered", stamp),
        ]
        outcome = "delivered"
        if settings.get("auto_read", True):
            statuses.append(plain_status(wamid, identity, "read", stamp))
            outcome = "read"
    else:
        statuses = [plain_status(wamid, identity, "sent", stamp)]
        outcome = "sent"
    await repository.add_message(
        session,
        SimulatedMessage(
            channel=Channel.WHATSAPP,
            identity=identity,
            direction="received",
            native_id=wamid,
            text=shown if shown is not None else visible_text(body),
            request=body,
            status=outcome,
            at=now,
        ),
    )
    await queue_webhook(
        session,
        app,
        Channel.WHATSAPP,
        runtime.inbound_url(Channel.WHATSAPP, app.id),
        webhook(phone_number_id, {"statuses": statuses}),
        dedup_key=f"{SEND_REPORT}:{wamid}",
        context={"phone_number_id": phone_number_id},
    )
    return JSONResponse(
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": settings.get("wa_id") or identity}],
            "messages": [{"id": wamid}],
        }
    )


@router.get("/{version}/{media_id}")
async def media_info(version: str, media_id: str, request: Request) -> JSONResponse:
    if bearer_token(request) is None:
        return GraphRefused(
            401, 190, "An active access token must be used to query information."
        ).response
    url = media_url_of(media_id)
    if url is None:
        return GraphRefused(
            400,
            100,
            f"Unsupported get request. Object with ID '{media_id}' does not exist",
            kind="GraphMethodException",
        ).response
    return JSONResponse(
        {
            "messaging_product": "whatsapp",
            "url": url,
            "mime_type": mime_type(url),
            "sha256": hashlib.sha256(url.encode()).hexdigest(),
            "file_size": 0,
            "id": media_id,
        }
    )


# --- what a handset sends -------------------------------------------------------------------


def media_id_of(url: str) -> str:
    return base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def media_url_of(media_id: str) -> str | None:
    try:
        url = base64.urlsafe_b64decode(media_id + "=" * (-len(media_id) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return url if url.startswith(("http://", "https://")) else None


def mime_type(url: str) -> str:
    return mimetypes.guess_type(url.split("?", 1)[0])[0] or "application/octet-stream"


def whatsapp_credential(app: App | None, phone_number_id: str | None = None) -> dict[str, Any]:
    for credential in (app.channel_credentials if app is not None else None) or []:
        if credential.get("channel") != Channel.WHATSAPP:
            continue
        bearer = credential.get("static_bearer") or {}
        if phone_number_id is None or bearer.get("claimed_identity") == phone_number_id:
            return credential
    return {}


def handset_native(message: ContactMessage) -> tuple[str, dict[str, Any], str]:
    """(type, object, visible text) of what a WhatsApp user sends."""
    if message.text_message is not None:
        text = message.text_message.text
        return "text", {"body": text}, text
    if message.media_message is not None or message.media_card_message is not None:
        url = message.media_message.url if message.media_message else message.media_card_message.url  # type: ignore[union-attr]
        caption = message.media_card_message.caption if message.media_card_message else None
        kind = media_kind(url)
        media: dict[str, Any] = {
            "id": media_id_of(url),
            "mime_type": mime_type(url),
            "sha256": hashlib.sha256(url.encode()).hexdigest(),
        }
        if caption:
            if kind not in CAPTIONED_KINDS:
                raise invalid("media_card_message", f"a WhatsApp {kind} cannot carry a caption")
            media["caption"] = caption
        if kind == "document":
            name = (
                message.media_message.filename_override if message.media_message else None
            ) or url_filename(url)
            if name:
                media["filename"] = name
        return kind, media, "\n".join(part for part in (caption, url) if part)
    if message.location_message is not None:
        location = message.location_message
        native: dict[str, Any] = {
            "latitude": location.coordinates.latitude,
            "longitude": location.coordinates.longitude,
        }
        if location.title:
            native["name"] = location.title
        if location.label:
            native["address"] = location.label
        text = location.title or f"{native['latitude']},{native['longitude']}"
        return "location", native, text
    if message.choice_response_message is not None:
        postback = message.choice_response_message.postback_data
        title = postback.split("_", 1)[1] if "_" in postback and len(postback) > 27 else postback
        title = title[:BUTTON_TITLE_LIMIT]
        return (
            "interactive",
            {"type": "button_reply", "button_reply": {"id": postback, "title": title}},
            title,
        )
    raise invalid(
        message.content_kind,
        "a WhatsApp handset sends text_message, media_message, media_card_message, "
        "location_message or choice_response_message",
    )


class WhatsAppSimulator(SimulatedChannel):
    channel = Channel.WHATSAPP
    router = router
    replies_in_context = True

    def handset_message(self, app: App, identity: str, message: ContactMessage) -> HandsetMessage:
        kind, content, text = handset_native(message)
        credential = whatsapp_credential(app)
        phone_number_id = str((credential.get("static_bearer") or {}).get("claimed_identity", ""))
        wamid = new_wamid()
        native_message: dict[str, Any] = {
            "from": identity,
            "id": wamid,
            "timestamp": str(int(time.time())),
            "type": kind,
            kind: content,
        }
        native = webhook(
            phone_number_id,
            {
                "contacts": [{"profile": {"name": f"Handset {identity}"}, "wa_id": identity}],
                "messages": [native_message],
            },
        )
        return HandsetMessage(native=native, native_id=wamid, text=text)

    def quoted_message(self, message: ContactMessage) -> tuple[str, str] | None:
        """A tapped reply button or list row quotes the message that showed it, as WhatsApp
        does: chorus knows what it answers by that alone (§2.7)."""
        choice = message.choice_response_message
        if choice is not None and choice.message_id:
            return "choice_response_message.message_id", choice.message_id
        return super().quoted_message(message)

    def add_reply_context(self, native: dict[str, Any], replied_native_id: str) -> None:
        """`context {from: the business number, id: the answered wamid}` (§2.7)."""
        value = native["entry"][0]["changes"][0]["value"]
        value["messages"][0]["context"] = {
            "from": value["metadata"]["display_phone_number"],
            "id": replied_native_id,
        }

    def webhook_headers(
        self, app: App | None, body: bytes, context: dict[str, Any]
    ) -> dict[str, str]:
        credential = whatsapp_credential(app, context.get("phone_number_id"))
        secret = str(credential.get("callback_secret") or "")
        return {SIGNATURE_HEADER: signature(secret, body)} if secret else {}

    def valid_identity(self, identity: str) -> bool:
        return bool(MSISDN.match(identity))

    def check_fail_next(self, value: Any) -> Any:
        """A Cloud API error code: a non-negative integer (see CHANNELS.md §2.3)."""
        return numeric_code(value)


SIMULATOR = WhatsAppSimulator()
