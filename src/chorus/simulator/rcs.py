"""The simulator's RCS side: a fake of Google RCS Business Messaging (CHANNELS.md part 1 §3.3)
and the webhooks its handsets cause (§3.7).

Served under `/simulator/rcs/v1/phones/+{msisdn}/...`, as RBM serves `/v1/phones/...`:

- `POST agentMessages?messageId=&agentId=` checks what RBM checks — a Bearer token (401
  UNAUTHENTICATED), an agent the token may use (403 PERMISSION_DENIED), the phone number and a
  well-formed AgentMessage within Google's limits (400 INVALID_ARGUMENT), a messageId not used
  before for that phone (409 ALREADY_EXISTS) — and answers 200 with the AgentMessage;
- `POST agentEvents?eventId=&agentId=` (typing indicators), `DELETE agentMessages/{id}`
  (revocation: 404 once delivered) and `GET capabilities?requestId=&agentId=`.

Errors use Google's envelope `{"error": {"code", "message", "status"}}`. RBM reports no
asynchronous delivery failure, so a handset decides a send's fate synchronously, in this order:
1. not `reachable`, or `capability` NO_CAPABILITY → 404 NOT_FOUND (not RCS-reachable);
2. `fail_next` (a Google status name such as `NOT_FOUND`, `INVALID_ARGUMENT`,
   `RESOURCE_EXHAUSTED`, `UNAVAILABLE`, or its HTTP code) → that error, and it clears;
3. otherwise the message lands in the inbox; `auto_deliver` queues a DELIVERED event and
   `auto_read` (after delivery) a READ event.
A file URL on the reserved `.invalid` domain cannot be fetched (400 about the file URL).

Webhooks are Pub/Sub push envelopes posted to chorus's RCS inbound URL of the app, signed with
`X-Goog-Signature` = base64(HMAC-SHA512(clientToken = the app's `callback_secret`, decoded
`message.data`)), as RBM signs them. DELIVERED and READ of one message share an ordering key,
so READ never overtakes DELIVERED.
"""

import base64
import hmac
import json
import re
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.channels.rcs.inbound import SIGNATURE_HEADER, signature
from chorus.channels.rcs.transcode import (
    CARD_DESCRIPTION_LIMIT,
    CARD_TITLE_LIMIT,
    MAX_CARD_SUGGESTIONS,
    MAX_CAROUSEL_CARDS,
    MAX_SUGGESTIONS,
    MIN_CAROUSEL_CARDS,
    POSTBACK_LIMIT,
    SUGGESTION_TEXT_LIMIT,
    TEXT_LIMIT,
)
from chorus.kit.clock import rfc3339, utcnow
from chorus.kit.db import WriteSession
from chorus.kit.ids import new_id
from chorus.models import App, Message, SimulatedMessage
from chorus.runtime import Runtime
from chorus.simulator import repository
from chorus.simulator.base import (
    SEND_REPORT,
    HandsetMessage,
    SimulatedChannel,
    encode,
    numeric_code,
    parse_json,
    queue_webhook,
)
from chorus.simulator.handsets import settings_of
from chorus.wire.enums import Channel
from chorus.wire.messages import ContactMessage, format_coordinate

PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")

# Google API errors: status name → (HTTP code, message).
ERRORS: dict[str, tuple[int, str]] = {
    "INVALID_ARGUMENT": (400, "Request contains an invalid argument."),
    "UNAUTHENTICATED": (
        401,
        "Request had invalid authentication credentials. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential.",
    ),
    "PERMISSION_DENIED": (403, "The caller does not have permission"),
    "NOT_FOUND": (404, "Requested entity was not found."),
    "ALREADY_EXISTS": (409, "Requested entity already exists"),
    "RESOURCE_EXHAUSTED": (429, "Resource has been exhausted (e.g. check quota)."),
    "INTERNAL": (500, "Internal error encountered."),
    "UNAVAILABLE": (503, "The service is currently unavailable."),
    "DEADLINE_EXCEEDED": (504, "Deadline expired before operation could complete."),
}
_BY_HTTP_CODE = {code: name for name, (code, _text) in ERRORS.items()}
ALL_FEATURES = [
    "RICHCARD_STANDALONE",
    "RICHCARD_CAROUSEL",
    "ACTION_CREATE_CALENDAR_EVENT",
    "ACTION_DIAL",
    "ACTION_OPEN_URL",
    "ACTION_SHARE_LOCATION",
    "ACTION_VIEW_LOCATION",
]
PARTIAL_FEATURES = ["RICHCARD_STANDALONE", "ACTION_DIAL", "ACTION_OPEN_URL"]

router = APIRouter(prefix="/simulator/rcs/v1/phones", tags=["simulator"])


class Refused(Exception):
    def __init__(self, status: str, message: str | None = None) -> None:
        code, default = ERRORS[status]
        super().__init__(message or default)
        self.response = JSONResponse(
            {"error": {"code": code, "message": message or default, "status": status}},
            status_code=code,
        )


def invalid_argument(message: str) -> Refused:
    return Refused("INVALID_ARGUMENT", message)


# --- authentication -----------------------------------------------------------------------


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def authorised_app(
    session: AsyncSession, request: Request, agent_id: str | None, message_id: str | None
) -> App:
    """The app the call is made for: one whose RCS credential names this agent and token (the
    one that sent `message_id`, when several share the agent)."""
    token = bearer_token(request)
    if token is None:
        raise Refused("UNAUTHENTICATED")
    if not agent_id:
        raise invalid_argument("agentId is required")
    holders = await repository.apps_with_credential(session, Channel.RCS, agent_id)
    if not holders:
        raise Refused("PERMISSION_DENIED", f"The caller does not have permission on {agent_id}")
    apps = [
        app
        for app, credential in holders
        if hmac.compare_digest(
            str(credential["static_bearer"].get("token", "")).encode(), token.encode()
        )
    ]
    if not apps:
        raise Refused("UNAUTHENTICATED")
    if message_id and len(apps) > 1:
        sent = await session.get(Message, message_id)
        for app in apps:
            if sent is not None and sent.app_id == app.id:
                return app
    return apps[0]


def phone_number(phone: str) -> str:
    if not PHONE.match(phone):
        raise invalid_argument(f"Invalid phone number: {phone!r} is not an E.164 number with +")
    return phone[1:]


# --- the AgentMessage -----------------------------------------------------------------------


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid_argument(f"Invalid value at '{field}': an object is required")
    return value


def _check_file_url(url: Any, field: str) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid_argument(f"Invalid value at '{field}': the file URL must be http(s)")
    if parts.hostname.endswith(".invalid"):
        raise invalid_argument(f"Unable to fetch file at {field}: {url}")


def _check_content_info(info: Any, field: str) -> None:
    info = _object(info, field)
    _check_file_url(info.get("fileUrl"), f"{field}.file_url")
    if info.get("thumbnailUrl") is not None:
        _check_file_url(info["thumbnailUrl"], f"{field}.thumbnail_url")


def _check_suggestions(suggestions: Any, limit: int, field: str) -> None:
    if not isinstance(suggestions, list):
        raise invalid_argument(f"Invalid value at '{field}': a list is required")
    if len(suggestions) > limit:
        raise invalid_argument(f"{field}: at most {limit} suggestions, got {len(suggestions)}")
    for index, suggestion in enumerate(suggestions):
        where = f"{field}[{index}]"
        suggestion = _object(suggestion, where)
        kinds = [key for key in ("reply", "action") if key in suggestion]
        if len(kinds) != 1:
            raise invalid_argument(f"{where}: exactly one of reply or action is required")
        chip = _object(suggestion[kinds[0]], f"{where}.{kinds[0]}")
        text = chip.get("text")
        if not isinstance(text, str) or not text or len(text) > SUGGESTION_TEXT_LIMIT:
            raise invalid_argument(
                f"{where}.text: 1 to {SUGGESTION_TEXT_LIMIT} characters are required"
            )
        postback = chip.get("postbackData", "")
        if not isinstance(postback, str) or len(postback) > POSTBACK_LIMIT:
            raise invalid_argument(f"{where}.postback_data: at most {POSTBACK_LIMIT} characters")


def _check_card(card: Any, field: str) -> None:
    card = _object(card, field)
    if not card.get("title") and not card.get("media"):
        raise invalid_argument(f"{field}: a card needs a title or media")
    if len(str(card.get("title") or "")) > CARD_TITLE_LIMIT:
        raise invalid_argument(f"{field}.title: at most {CARD_TITLE_LIMIT} characters")
    if len(str(card.get("description") or "")) > CARD_DESCRIPTION_LIMIT:
        raise invalid_argument(f"{field}.description: at most {CARD_DESCRIPTION_LIMIT} characters")
    if card.get("media") is not None:
        media = _object(card["media"], f"{field}.media")
        if media.get("height", "MEDIUM") not in ("SHORT", "MEDIUM", "TALL"):
            raise invalid_argument(f"Invalid value at '{field}.media.height'")
        _check_content_info(media.get("contentInfo"), f"{field}.media.content_info")
    if card.get("suggestions") is not None:
        _check_suggestions(card["suggestions"], MAX_CARD_SUGGESTIONS, f"{field}.suggestions")


def validated_content(raw: bytes) -> dict[str, Any]:
    """The `contentMessage` of an AgentMessage body, checked as RBM checks it."""
    try:
        body = parse_json(raw)
    except ValueError:
        raise invalid_argument("Invalid JSON payload received.") from None
    body = _object(body, "agent_message")
    content = _object(body.get("contentMessage"), "agent_message.content_message")
    kinds = [key for key in ("text", "contentInfo", "richCard") if content.get(key) is not None]
    if len(kinds) != 1:
        raise invalid_argument(
            "agent_message.content_message: exactly one of text, content_info or rich_card"
        )
    if "text" in kinds:
        text = content["text"]
        if not isinstance(text, str) or not text or len(text) > TEXT_LIMIT:
            raise invalid_argument(f"content_message.text: 1 to {TEXT_LIMIT} characters")
    elif "contentInfo" in kinds:
        _check_content_info(content["contentInfo"], "content_message.content_info")
    else:
        rich = _object(content["richCard"], "content_message.rich_card")
        if "standaloneCard" in rich:
            standalone = _object(rich["standaloneCard"], "rich_card.standalone_card")
            _check_card(standalone.get("cardContent"), "standalone_card.card_content")
        elif "carouselCard" in rich:
            carousel = _object(rich["carouselCard"], "rich_card.carousel_card")
            cards = carousel.get("cardContents")
            if not isinstance(cards, list) or not (
                MIN_CAROUSEL_CARDS <= len(cards) <= MAX_CAROUSEL_CARDS
            ):
                raise invalid_argument(
                    f"carousel_card.card_contents: {MIN_CAROUSEL_CARDS} to "
                    f"{MAX_CAROUSEL_CARDS} cards are required"
                )
            for index, card in enumerate(cards):
                _check_card(card, f"carousel_card.card_contents[{index}]")
        else:
            raise invalid_argument("rich_card: standalone_card or carousel_card is required")
    if content.get("suggestions") is not None:
        _check_suggestions(content["suggestions"], MAX_SUGGESTIONS, "content_message.suggestions")
    return content


def visible_text(content: dict[str, Any]) -> str:
    """What the person sees: the text, file or cards, then the suggestion chips in brackets."""

    def chips(suggestions: Any) -> list[str]:
        return [
            f"[{(s.get('reply') or s.get('action') or {}).get('text', '')}]"
            for s in suggestions or []
        ]

    def card(card: dict[str, Any]) -> str:
        media = ((card.get("media") or {}).get("contentInfo") or {}).get("fileUrl")
        parts = [card.get("title"), card.get("description"), media, *chips(card.get("suggestions"))]
        return "\n".join(str(part) for part in parts if part)

    if content.get("text") is not None:
        lines = [str(content["text"])]
    elif content.get("contentInfo") is not None:
        lines = [str(content["contentInfo"].get("fileUrl"))]
    else:
        rich = content["richCard"]
        if "standaloneCard" in rich:
            lines = [card(rich["standaloneCard"]["cardContent"])]
        else:
            lines = ["\n\n".join(card(c) for c in rich["carouselCard"]["cardContents"])]
    lines.extend(chips(content.get("suggestions")))
    return "\n".join(lines)


# --- webhooks ---------------------------------------------------------------------------------


def push_envelope(event: dict[str, Any], message_type: str) -> dict[str, Any]:
    data = base64.b64encode(encode(event)).decode()
    agent = str(event.get("agentId") or "agent")
    return {
        "message": {
            "data": data,
            "messageId": new_id(),
            "publishTime": rfc3339(utcnow()),
            "attributes": {"message_type": message_type},
        },
        "subscription": f"projects/rbm-{agent}/subscriptions/rbm-agent-subscription",
    }


async def queue_event(
    session: AsyncSession, app: App, url: str, event: dict[str, Any], *, ordering_key: str
) -> None:
    """Post an RBM event later, durably, in order with the other events of its message."""
    await queue_webhook(
        session,
        app,
        Channel.RCS,
        url,
        push_envelope(event, "USER_EVENT"),
        dedup_key=f"{SEND_REPORT}:rcs:{event['eventId']}",
        context={"agent_id": event.get("agentId")},
        ordering_key=ordering_key,
    )


def status_event(phone: str, agent_id: str, message_id: str, kind: str) -> dict[str, Any]:
    return {
        "senderPhoneNumber": phone,
        "eventType": kind,
        "eventId": f"{kind}-{message_id}",
        "messageId": message_id,
        "sendTime": rfc3339(utcnow()),
        "agentId": agent_id,
    }


# --- endpoints --------------------------------------------------------------------------------


@router.post("/{phone}/agentMessages")
async def create_agent_message(
    phone: str, request: Request, session: AsyncSession = WriteSession
) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    agent_id = request.query_params.get("agentId")
    message_id = request.query_params.get("messageId")
    raw = await request.body()
    try:
        app = await authorised_app(session, request, agent_id, message_id)
        assert agent_id is not None
        number = phone_number(phone)
        if not message_id:
            raise invalid_argument("messageId is required")
        content = validated_content(raw)
        handset = await repository.handset_for_update(session, Channel.RCS, number)
        settings = settings_of(handset)
        earlier = await session.scalar(
            select(SimulatedMessage.id).where(
                SimulatedMessage.channel == Channel.RCS,
                SimulatedMessage.identity == number,
                SimulatedMessage.native_id == message_id,
                SimulatedMessage.direction == "received",
            )
        )
        if earlier is not None:
            raise Refused("ALREADY_EXISTS")
        if not settings["reachable"] or settings["capability"] == "NO_CAPABILITY":
            raise Refused("NOT_FOUND")
        if settings["fail_next"] is not None:
            handset.settings = {**handset.settings, "fail_next": None}
            raise Refused(str(settings["fail_next"]))
    except Refused as refused:
        return refused.response
    delivered = bool(settings["auto_deliver"])
    read = delivered and bool(settings["auto_read"])
    now = utcnow()
    body = parse_json(raw)  # parsed once already by validated_content
    await repository.add_message(
        session,
        SimulatedMessage(
            channel=Channel.RCS,
            identity=number,
            direction="received",
            native_id=message_id,
            text=visible_text(content),
            request={"agentId": agent_id, "messageId": message_id, **body},
            status="read" if read else "delivered" if delivered else "sent",
            at=now,
        ),
    )
    url = runtime.inbound_url(Channel.RCS, app.id)
    for kind, due in (("DELIVERED", delivered), ("READ", read)):
        if due:
            event = status_event(phone, agent_id, message_id, kind)
            await queue_event(session, app, url, event, ordering_key=f"rcs:{number}:{message_id}")
    answer = {
        "name": f"phones/{phone}/agentMessages/{message_id}",
        "sendTime": rfc3339(now),
        "contentMessage": content,
    }
    return JSONResponse(answer)


@router.post("/{phone}/agentEvents")
async def create_agent_event(
    phone: str, request: Request, session: AsyncSession = WriteSession
) -> JSONResponse:
    agent_id = request.query_params.get("agentId")
    event_id = request.query_params.get("eventId")
    raw = await request.body()  # before any statement: see inbound/routes.py
    try:
        await authorised_app(session, request, agent_id, None)
        number = phone_number(phone)
        if not event_id:
            raise invalid_argument("eventId is required")
        try:
            body = parse_json(raw)
        except ValueError:
            raise invalid_argument("Invalid JSON payload received.") from None
        body = _object(body, "agent_event")
        kind = body.get("eventType")
        if kind not in ("IS_TYPING", "READ"):
            raise invalid_argument(f"Invalid value at 'agent_event.event_type': {kind!r}")
        if kind == "READ" and not body.get("messageId"):
            raise invalid_argument("agent_event.message_id is required for READ")
        handset = await repository.handset_for_update(session, Channel.RCS, number)
        settings = settings_of(handset)
        if not settings["reachable"] or settings["capability"] == "NO_CAPABILITY":
            raise Refused("NOT_FOUND")
    except Refused as refused:
        return refused.response
    now = utcnow()
    await repository.add_message(
        session,
        SimulatedMessage(
            channel=Channel.RCS,
            identity=number,
            direction="received",
            native_id=event_id,
            text="(typing…)" if kind == "IS_TYPING" else "(read)",
            request={"agentId": agent_id, "eventId": event_id, **body},
            status="event",
            at=now,
        ),
    )
    return JSONResponse(
        {
            "name": f"phones/{phone}/agentEvents/{event_id}",
            "eventType": kind,
            "sendTime": rfc3339(now),
        }
    )


@router.delete("/{phone}/agentMessages/{message_id}")
async def revoke_agent_message(
    phone: str, message_id: str, request: Request, session: AsyncSession = WriteSession
) -> JSONResponse:
    """Revocation: possible until the message is delivered (then 404)."""
    try:
        await authorised_app(session, request, request.query_params.get("agentId"), message_id)
        number = phone_number(phone)
        entry = await session.scalar(
            select(SimulatedMessage).where(
                SimulatedMessage.channel == Channel.RCS,
                SimulatedMessage.identity == number,
                SimulatedMessage.native_id == message_id,
                SimulatedMessage.direction == "received",
            )
        )
        if entry is None or entry.status != "sent":
            raise Refused("NOT_FOUND")
        entry.status = "revoked"
    except Refused as refused:
        return refused.response
    return JSONResponse({})


@router.get("/{phone}/capabilities")
async def capabilities(
    phone: str, request: Request, session: AsyncSession = WriteSession
) -> JSONResponse:
    """The handset's `capability` setting as RBM answers a capability check."""
    try:
        await authorised_app(session, request, request.query_params.get("agentId"), None)
        number = phone_number(phone)
        if not request.query_params.get("requestId"):
            raise invalid_argument("requestId is required")
        handset = await repository.handset_for_update(session, Channel.RCS, number)
        settings = settings_of(handset)
        capability = settings["capability"]
        if not settings["reachable"] or capability == "NO_CAPABILITY":
            raise Refused("NOT_FOUND")
        if capability == "CAPABILITY_UNKNOWN":
            raise Refused("UNAVAILABLE")
    except Refused as refused:
        return refused.response
    features = ALL_FEATURES if capability == "CAPABILITY_FULL" else PARTIAL_FEATURES
    return JSONResponse({"features": features})


# --- what a handset sends ---------------------------------------------------------------------


def rcs_credential(app: App | None, agent_id: str | None = None) -> dict[str, Any] | None:
    for credential in (app.channel_credentials or []) if app is not None else []:
        if credential.get("channel") != Channel.RCS:
            continue
        bearer = credential.get("static_bearer") or {}
        if agent_id is None or bearer.get("claimed_identity") == agent_id:
            return credential
    return None


def _mime_type(url: str) -> str:
    import mimetypes

    guessed, _ = mimetypes.guess_type(urlsplit(url).path)
    return guessed or "application/octet-stream"


def user_message(app: App, identity: str, message: ContactMessage) -> tuple[dict[str, Any], str]:
    """The RBM user-message event for a contact message, and the text the person sent."""
    agent = ((rcs_credential(app) or {}).get("static_bearer") or {}).get("claimed_identity")
    event: dict[str, Any] = {
        "senderPhoneNumber": f"+{identity}",
        "messageId": f"Ms{new_id()}",
        "sendTime": rfc3339(utcnow()),
        "agentId": agent or "",
    }
    if message.text_message is not None:
        event["text"] = text = message.text_message.text
    elif message.media_message is not None:
        media = message.media_message
        name = media.filename_override or urlsplit(media.url).path.rpartition("/")[2] or "file"
        user_file: dict[str, Any] = {
            "payload": {
                "mimeType": _mime_type(media.url),
                "fileSizeBytes": 0,
                "fileUri": media.url,
                "fileName": name,
            }
        }
        if media.thumbnail_url:
            user_file["thumbnail"] = {
                "mimeType": _mime_type(media.thumbnail_url),
                "fileSizeBytes": 0,
                "fileUri": media.thumbnail_url,
            }
        event["userFile"] = user_file
        text = media.url
    elif message.location_message is not None:
        coordinates = message.location_message.coordinates
        event["location"] = {"latitude": coordinates.latitude, "longitude": coordinates.longitude}
        text = (
            f"{format_coordinate(coordinates.latitude)},{format_coordinate(coordinates.longitude)}"
        )
    elif message.choice_response_message is not None:
        choice = message.choice_response_message
        postback = (
            f"{choice.message_id}|{choice.postback_data}"
            if choice.message_id
            else choice.postback_data
        )
        event["suggestionResponse"] = {
            "postbackData": postback,
            "text": choice.postback_data,
            "type": "REPLY",
        }
        text = choice.postback_data
    else:
        from chorus.kit.errors import invalid

        raise invalid(
            message.content_kind,
            "an RCS handset sends text_message, media_message, location_message or "
            "choice_response_message",
        )
    return event, text


class RcsSimulator(SimulatedChannel):
    channel = Channel.RCS
    router = router

    def handset_message(self, app: App, identity: str, message: ContactMessage) -> HandsetMessage:
        event, text = user_message(app, identity, message)
        return HandsetMessage(
            native=push_envelope(event, "USER_MESSAGE"), native_id=event["messageId"], text=text
        )

    def valid_identity(self, identity: str) -> bool:
        return bool(PHONE.match(f"+{identity}"))

    def check_fail_next(self, value: Any) -> Any:
        """A Google API status name (`NOT_FOUND`, `UNAVAILABLE`, …) or its HTTP code; kept as
        the status name."""
        if isinstance(value, bool):
            return None
        if isinstance(value, str) and value.strip().upper() in ERRORS:
            name = value.strip().upper()
        elif (code := numeric_code(value)) is not None:
            name = _BY_HTTP_CODE.get(code, "")
        else:
            return None
        return name if name and name != "ALREADY_EXISTS" else None

    def webhook_headers(
        self, app: App | None, body: bytes, context: dict[str, Any]
    ) -> dict[str, str]:
        secret = (rcs_credential(app, context.get("agent_id")) or rcs_credential(app) or {}).get(
            "callback_secret"
        )
        if not secret:
            return {}
        data = base64.b64decode(json.loads(body)["message"]["data"])
        return {SIGNATURE_HEADER: signature(str(secret), data)}


SIMULATOR = RcsSimulator()
