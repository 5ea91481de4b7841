"""RBM webhooks: verification and mapping (CHANNELS.md part 1 §3.7).

RBM posts a push envelope `{"message": {"data": base64(event JSON), "messageId",
"publishTime", "attributes"}, "subscription"}`, signed with `X-Goog-Signature` =
base64(HMAC-SHA512(key = clientToken, data = the base64-decoded `message.data`)). The
credential's `callback_secret` is the clientToken. Without one, webhooks are accepted only while
the simulator is on (Decision 2). When the webhook is configured RBM first posts a handshake
`{"clientToken", "secret"}`, accepted when the clientToken is the callback_secret.

The decoded event is a user message (`text`, `userFile`, `location`, `suggestionResponse`) or
an event (`eventType` DELIVERED, READ, IS_TYPING). Anything else is reported as unsupported.
RBM retries for up to 7 days: a user message's `messageId` and an event's `eventId` are how a
delivery again is told and dropped (`InboundMessage.native_id`, `InboundEvent.event_id`).
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from chorus.channels.base import (
    HandshakeAnswer,
    Ignored,
    InboundEvent,
    InboundItem,
    InboundMessage,
    InboundRejected,
    NativeRequest,
    StatusReport,
    Unmapped,
    coordinates,
)
from chorus.channels.sms.inbound import parse_time
from chorus.wire.enums import Channel
from chorus.wire.identities import normalise_identity

SIGNATURE_HEADER = "x-goog-signature"
# `{conversation message id}|{postback_data}`, the encoding of rcs.transcode.
_ENVELOPE = re.compile(r"^([0-9A-Z]{26})\|(.*)$", re.DOTALL)


def signature(secret: str, data: bytes) -> str:
    """The `X-Goog-Signature` of a push whose decoded `message.data` is `data`."""
    digest = hmac.new(secret.encode(), data, hashlib.sha512).digest()
    return base64.b64encode(digest).decode()


def is_handshake(payload: Any) -> bool:
    return isinstance(payload, dict) and "clientToken" in payload and "message" not in payload


def decoded_data(payload: Any) -> bytes:
    """The bytes of `message.data` of a push envelope (the event JSON)."""
    message = payload.get("message") if isinstance(payload, dict) else None
    data = message.get("data") if isinstance(message, dict) else None
    if not isinstance(data, str) or not data:
        raise InboundRejected(400, "the RBM push has no message.data")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        try:
            return base64.b64decode(data, altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise InboundRejected(400, "message.data is not base64") from None


def _payload(request: NativeRequest) -> Any:
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise InboundRejected(400, "the RBM webhook is not valid JSON") from None


def verify_webhook(
    request: NativeRequest, credential: Mapping[str, Any], *, simulator_on: bool
) -> None:
    secret = str(credential.get("callback_secret") or "")
    payload = _payload(request)
    if is_handshake(payload):
        token = payload.get("clientToken")
        if (
            not secret
            or not isinstance(token, str)
            or not hmac.compare_digest(token.encode(), secret.encode())
        ):
            raise InboundRejected(403, "the handshake's clientToken is not the callback_secret")
        return
    data = decoded_data(payload)
    if secret:
        given = request.headers.get(SIGNATURE_HEADER, "").strip()
        if not given:
            raise InboundRejected(401, "X-Goog-Signature is missing")
        if not hmac.compare_digest(given.encode(), signature(secret, data).encode()):
            raise InboundRejected(401, "X-Goog-Signature does not match the callback_secret")
    elif not simulator_on:
        raise InboundRejected(
            401, "the app's RCS credential has no callback_secret; webhooks are refused"
        )


def parse_webhook(request: NativeRequest) -> list[InboundItem]:
    payload = _payload(request)
    if is_handshake(payload):
        # Verified against the clientToken already: RBM expects its secret echoed.
        return [HandshakeAnswer(str(payload.get("secret") or ""))]
    data = decoded_data(payload)
    try:
        event = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise InboundRejected(400, "message.data is not a JSON event") from None
    if not isinstance(event, dict):
        raise InboundRejected(400, "message.data must be a JSON object")
    # Another agent's event at this app's URL is ignored and recorded (§3.7): refusing it
    # would have RBM deliver it again for days.
    ours = str((request.credential.get("static_bearer") or {}).get("claimed_identity") or "")
    if ours and event.get("agentId") not in (None, ours):
        return [Ignored(f"an event for agent {event.get('agentId')!r}, not this app's {ours!r}")]
    raw = data.decode("utf-8", errors="replace")
    sender = event.get("senderPhoneNumber")
    identity = normalise_identity(Channel.RCS, sender) if isinstance(sender, str) else None
    at = parse_time(event.get("sendTime"))
    kind = event.get("eventType")
    if kind is not None:
        return [_event(event, kind, identity, at, raw)]
    native_id = str(event.get("messageId") or "")
    # A user message chorus cannot map is dropped when delivered again as a mapped one is,
    # by its messageId (kept with the event ids, so named apart from them).
    unmapped_id = f"messageId:{native_id}" if native_id else None
    if identity is None:
        description = "an RBM user message without senderPhoneNumber"
        return [Unmapped(raw, description=description, event_id=unmapped_id)]
    agent = event.get("agentId")

    def message(content: dict[str, Any], reply_text: str | None = None) -> InboundMessage:
        return InboundMessage(
            identity=identity,
            contact_message=content,
            native_id=native_id,
            sender_id=str(agent) if agent else None,
            at=at,
            reply_text=reply_text,
        )

    if isinstance(event.get("text"), str):
        return [message({"text_message": {"text": event["text"]}})]
    if isinstance(event.get("userFile"), dict):
        return [message({"media_message": _media(event["userFile"])})]
    location = event.get("location") if isinstance(event.get("location"), dict) else {}
    place = coordinates(location.get("latitude"), location.get("longitude"))
    if place is not None:
        return [message({"location_message": {"coordinates": place}})]
    response = event.get("suggestionResponse")
    if isinstance(response, dict) and isinstance(response.get("postbackData"), str):
        postback = response["postbackData"]
        envelope = _ENVELOPE.match(postback)
        if envelope is not None:
            choice = {"message_id": envelope.group(1), "postback_data": envelope.group(2)}
            return [message({"choice_response_message": choice})]
        # No message id (an explicit message's own postback): the latest message of the
        # conversation that offered this postback is the one answered, when there is one.
        choice = {"message_id": "", "postback_data": postback}
        return [message({"choice_response_message": choice}, reply_text=postback)]
    description = "an RBM user message chorus cannot map"
    return [Unmapped(raw, identity=identity, description=description, event_id=unmapped_id)]


def _event(
    event: dict[str, Any], kind: Any, identity: str | None, at: Any, raw: str
) -> InboundItem:
    message_id = event.get("messageId")
    # RBM's id of the event: the same event delivered again carries it again. One without
    # it cannot be told from another, and none is dropped as seen.
    event_id = event.get("eventId") if isinstance(event.get("eventId"), str) else None
    if kind in ("DELIVERED", "READ"):
        if not isinstance(message_id, str) or not message_id:
            raise InboundRejected(400, f"a {kind} event without messageId")
        return StatusReport(
            status=kind, native_id=message_id, identity=identity, at=at, event_id=event_id
        )
    if kind == "IS_TYPING" and identity is not None:
        composing = {"composing_event": {}}
        return InboundEvent(identity=identity, contact_event=composing, at=at, event_id=event_id)
    description = f"RBM event type {kind!r}"
    return Unmapped(raw, identity=identity, description=description, event_id=event_id)


def _media(user_file: dict[str, Any]) -> dict[str, Any]:
    payload = user_file.get("payload") if isinstance(user_file.get("payload"), dict) else {}
    thumbnail = user_file.get("thumbnail") if isinstance(user_file.get("thumbnail"), dict) else {}
    media: dict[str, Any] = {"url": str(payload.get("fileUri") or "")}
    if thumbnail.get("fileUri"):
        media["thumbnail_url"] = str(thumbnail["fileUri"])
    if payload.get("fileName"):
        media["filename_override"] = str(payload["fileName"])
    return media
