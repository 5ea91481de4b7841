"""Viber callbacks: verification and mapping (CHANNELS.md part 2 §3.7).

Viber signs every callback: `X-Viber-Content-Signature` is the lower-case hex HMAC-SHA256 of
the raw body keyed with the bot's auth token. Chorus verifies with the credential's
`callback_secret` when set, otherwise with `static_token.token` (§3.2), so Viber callbacks are
always verified; only a credential with neither is subject to Decision 2.

`message` events become contact messages (a text carrying the postback envelope becomes a
`choice_response_message`); `delivered` / `seen` / `failed` become delivery reports; `webhook`
is answered and dropped; `subscribed` / `unsubscribed` are consent changes (OPT_IN / OPT_OUT,
the consent list); `conversation_started` (whose user becomes a contact) and anything else
are reported as unsupported.

Viber may repeat a callback: a message is dropped by its `message_token` when seen before, any
other callback by (`event`, `message_token`, user id), its `event_id` (§3.7).
"""

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from chorus.channels.base import (
    ConsentChange,
    InboundItem,
    InboundMessage,
    InboundRejected,
    NativeRequest,
    StatusReport,
    Unmapped,
    coordinates,
)
from chorus.wire.messages import ReasonCode

SIGNATURE_HEADER = "x-viber-content-signature"
ENVELOPE = re.compile(r"^([0-9A-Z]{26})([:#])(.*)$", re.DOTALL)


def signing_key(credential: Mapping[str, Any]) -> str:
    secret = credential.get("callback_secret") or ""
    if secret:
        return str(secret)
    return str((credential.get("static_token") or {}).get("token") or "")


def signature(key: str, body: bytes) -> str:
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def verify_callback(
    request: NativeRequest, credential: Mapping[str, Any], *, simulator_on: bool
) -> None:
    key = signing_key(credential)
    if not key:
        if simulator_on:
            return
        raise InboundRejected(401, "the app's VIBER credential has no key to verify callbacks")
    given = request.headers.get(SIGNATURE_HEADER, "").strip().lower()
    if not given:
        raise InboundRejected(401, "X-Viber-Content-Signature is missing")
    if not hmac.compare_digest(given.encode(), signature(key, request.body).encode()):
        raise InboundRejected(401, "X-Viber-Content-Signature does not match the body")


def parse_callback(request: NativeRequest) -> list[InboundItem]:
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise InboundRejected(400, "the Viber callback is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InboundRejected(400, "the Viber callback must be a JSON object")
    event = payload.get("event")
    raw = request.body.decode("utf-8", errors="replace")
    at = _time(payload.get("timestamp"))
    if event == "message":
        return [_message(payload, raw, at)]
    if event in ("delivered", "seen", "failed"):
        return [_report(event, payload, at)]
    if event == "webhook":
        return []
    user = payload.get("user")
    identity = payload.get("user_id") or (user.get("id") if isinstance(user, dict) else None)
    identity = identity if isinstance(identity, str) and identity else None
    event_id = _event_id(event, payload, identity)
    if event in ("subscribed", "unsubscribed") and identity:
        # Decision 6: the consent list follows the subscription, and capability reads it.
        subscribed = event == "subscribed"
        return [
            ConsentChange(
                identity, subscribed, at=at, learns_identity=subscribed, event_id=event_id
            )
        ]
    descriptions = {
        "subscribed": "Viber subscribed event (the user subscribed to the bot)",
        "unsubscribed": "Viber unsubscribed event (the user unsubscribed from the bot)",
        "conversation_started": "Viber conversation_started event",
    }
    description = descriptions.get(str(event), f"unknown Viber event {event!r}")
    learns = event == "conversation_started" and identity is not None  # §3.7
    return [
        Unmapped(
            raw,
            identity=identity,
            description=description,
            learns_identity=learns,
            event_id=event_id,
        )
    ]


def _event_id(event: Any, payload: dict[str, Any], user: Any) -> str | None:
    """(`event`, `message_token`, user id): how a callback Viber repeats is told (§3.7). None
    without a message_token: such a callback cannot be told from another one."""
    token = payload.get("message_token")
    if isinstance(token, bool) or not isinstance(token, int | str) or not str(token).strip():
        return None
    return f"{event}:{token}:{user if isinstance(user, str) else ''}"


def _time(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _message(payload: dict[str, Any], raw: str, at: datetime | None) -> InboundItem:
    sender = payload.get("sender")
    identity = sender.get("id") if isinstance(sender, dict) else None
    if not isinstance(identity, str) or not identity:
        raise InboundRejected(400, "Viber message event without sender.id")
    token = _message_token(payload, "message")
    message = payload.get("message")
    if not isinstance(message, dict):
        raise InboundRejected(400, "Viber message event without message")
    kind = message.get("type")
    reply_text: str | None = None
    content: dict[str, Any] | None = None
    if kind == "text":
        text = str(message.get("text") or "")
        content = {"text_message": {"text": text}}
        matched = ENVELOPE.match(text)
        if matched and matched.group(2) == ":":
            content = {
                "choice_response_message": {
                    "message_id": matched.group(1),
                    "postback_data": matched.group(3),
                }
            }
        elif matched:
            reply_text = text  # {message_id}#{index}: read back from the stored message
    elif kind == "picture":
        url = str(message.get("media") or "")
        caption = message.get("text")
        if caption:
            content = {"media_card_message": {"url": url, "caption": str(caption)}}
        else:
            content = {"media_message": {"url": url}}
    elif kind in ("video", "file", "sticker"):
        content = {"media_message": {"url": str(message.get("media") or "")}}
    elif kind == "url":
        content = {"text_message": {"text": str(message.get("media") or "")}}
    elif kind == "location":
        location = message.get("location") if isinstance(message.get("location"), dict) else {}
        place = coordinates(location.get("lat"), location.get("lon"))
        if place is None:
            raise InboundRejected(400, "Viber location message without a valid lat/lon")
        content = {"location_message": {"coordinates": place, "title": "", "label": ""}}
    elif kind == "contact":
        content = {
            "fallback_message": {
                "raw_message": raw,
                "reason": {
                    "code": ReasonCode.UNSUPPORTED_OPERATION.value,
                    "description": "Viber contact messages have no Conversation API form",
                    "sub_code": "UNSPECIFIED_SUB_CODE",
                    "channel_code": "contact",
                },
            }
        }
    if content is None:
        description = f"Viber {kind!r} message"
        event_id = _event_id("message", payload, identity)
        return Unmapped(raw, identity=identity, description=description, event_id=event_id)
    name = sender.get("name") if isinstance(sender, dict) else None
    return InboundMessage(
        identity=identity,
        contact_message=content,
        native_id=str(token),
        at=at,
        reply_text=reply_text,
        profile_name=name.strip() if isinstance(name, str) and name.strip() else None,
    )


def _message_token(payload: dict[str, Any], event: str) -> int | str:
    """Viber's id of a message: a 64-bit number (a numeric string accepted too)."""
    token = payload.get("message_token")
    if token is None:
        raise InboundRejected(400, f"Viber {event} event without message_token")
    if isinstance(token, bool) or not isinstance(token, (int, str)) or not str(token).strip():
        raise InboundRejected(400, f"Viber {event} event whose message_token is not a number")
    return token


def _report(event: str, payload: dict[str, Any], at: datetime | None) -> StatusReport:
    token = _message_token(payload, event)
    user = payload.get("user_id")
    common: dict[str, Any] = {
        "native_id": str(token),
        "identity": user if isinstance(user, str) and user else None,
        "at": at,
        "event_id": _event_id(event, payload, user),
    }
    if event == "delivered":
        return StatusReport(status="DELIVERED", **common)
    if event == "seen":
        return StatusReport(status="READ", **common)
    reason = {
        "code": ReasonCode.RECIPIENT_NOT_REACHABLE.value,
        "description": str(payload.get("desc") or "failed"),
        "sub_code": "UNSPECIFIED_SUB_CODE",
        "channel_code": "failed",
    }
    return StatusReport(status="FAILED", reason=reason, **common)
