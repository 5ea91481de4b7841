"""VIBERBM callbacks: verification and mapping (CHANNELS.md part 2 §2.7, chorus-owned).

`X-Chorus-Signature: sha256=<hex>` is HMAC-SHA256 of the raw body keyed with the credential's
`callback_secret`, compared with `hmac.compare_digest`. Without a `callback_secret` callbacks
are accepted only while the simulator is on (Decision 2).

One event per request, told apart by `type`: `message` (a contact's text, media, location or
sticker), `status` (delivered / seen / failed / expired about a message chorus sent),
`opt_in` / `opt_out` (consent changes; an optional `list_type` names the consent list,
OPT_OUT_ALL by default), anything else unmapped.
"""

import hashlib
import hmac
import json
from collections.abc import Mapping
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
from chorus.channels.sms.inbound import parse_time
from chorus.channels.viberbm.connector import reason_for
from chorus.wire.enums import Channel
from chorus.wire.identities import normalise_identity
from chorus.wire.messages import ReasonCode

SIGNATURE_HEADER = "x-chorus-signature"
MEDIA_CONTENT = ("image", "video", "file")
STATUSES = {"delivered": "DELIVERED", "seen": "READ"}
FAILED_STATUSES = ("failed", "expired")
CONSENT_LISTS = ("OPT_OUT_ALL", "OPT_OUT_MARKETING", "OPT_OUT_NOTIFICATION")


def signature(secret: str, body: bytes) -> str:
    """The `X-Chorus-Signature` value of `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_callback(
    request: NativeRequest, credential: Mapping[str, Any], *, simulator_on: bool
) -> None:
    secret = credential.get("callback_secret") or ""
    if not secret:
        if simulator_on:
            return
        raise InboundRejected(
            401, "the app's VIBERBM credential has no callback_secret; callbacks are refused"
        )
    given = request.headers.get(SIGNATURE_HEADER, "").strip()
    if not given:
        raise InboundRejected(401, "the X-Chorus-Signature header is missing")
    expected = signature(str(secret), request.body)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise InboundRejected(401, "the X-Chorus-Signature does not match the body")


def parse_callback(request: NativeRequest) -> list[InboundItem]:
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise InboundRejected(400, "the VIBERBM callback is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InboundRejected(400, "the VIBERBM callback must be a JSON object")
    kind = payload.get("type")
    if kind == "message":
        return [_message(payload)]
    if kind == "status":
        return [_status(payload)]
    raw = request.body.decode("utf-8", errors="replace")
    sender = payload.get("sender")
    identity = normalise_identity(Channel.VIBERBM, sender) if isinstance(sender, str) else None
    if kind in ("opt_in", "opt_out") and identity:
        # chorus-owned extension: `list_type` names the consent list (default OPT_OUT_ALL).
        list_type = payload.get("list_type")
        return [
            ConsentChange(
                identity=identity,
                opted_in=kind == "opt_in",
                list_type=list_type if list_type in CONSENT_LISTS else "OPT_OUT_ALL",
                at=parse_time(payload.get("timestamp")),
            )
        ]
    return [Unmapped(raw, identity=identity, description=f"unknown VIBERBM callback {kind!r}")]


def _message(payload: dict[str, Any]) -> InboundMessage:
    sender = payload.get("sender")
    if not isinstance(sender, str) or not sender:
        raise InboundRejected(400, "a VIBERBM message without `sender`")
    content = payload.get("content")
    if not isinstance(content, dict):
        raise InboundRejected(400, "a VIBERBM message without `content`")
    contact_message, reply_text = contact_message_of(content)
    return InboundMessage(
        identity=normalise_identity(Channel.VIBERBM, sender),
        contact_message=contact_message,
        native_id=str(payload.get("id") or ""),
        sender_id=str(payload["service_id"]) if payload.get("service_id") else None,
        at=parse_time(payload.get("timestamp")),
        reply_text=reply_text,
        # The app message this one answers, by its native id (becomes `reply_to`).
        context_native_id=payload["reply_to"] if isinstance(payload.get("reply_to"), str) else None,
    )


def contact_message_of(content: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """(ContactMessage wire form, the text a numbered reply may be read from)."""
    kind = content.get("type")
    if kind == "text" and isinstance(content.get("text"), str):
        return {"text_message": {"text": content["text"]}}, content["text"]
    if kind in MEDIA_CONTENT and isinstance(content.get("url"), str):
        caption = content.get("caption")
        if isinstance(caption, str) and caption:
            return {"media_card_message": {"url": content["url"], "caption": caption}}, None
        return {"media_message": {"url": content["url"]}}, None
    place = coordinates(content.get("lat"), content.get("lon")) if kind == "location" else None
    if place is not None:
        location: dict[str, Any] = {
            "coordinates": place,
            "title": str(content.get("title") or ""),
        }
        if content.get("label"):
            location["label"] = str(content["label"])
        return {"location_message": location}, None
    raw = json.dumps(content, separators=(",", ":"), ensure_ascii=False)
    return {
        "fallback_message": {
            "raw_message": raw,
            "reason": {
                "code": ReasonCode.UNSUPPORTED_OPERATION.value,
                "description": f"VIBERBM content of type {kind!r} has no Conversation API form",
                "sub_code": "UNSPECIFIED_SUB_CODE",
            },
        }
    }, None


def _status(payload: dict[str, Any]) -> StatusReport:
    native_id = payload.get("id")
    if not isinstance(native_id, str) or not native_id:
        raise InboundRejected(400, "a VIBERBM status without `id`")
    reference = payload.get("client_ref")
    common: dict[str, Any] = {
        "native_id": native_id,
        "message_id": str(reference) if reference else None,
        "at": parse_time(payload.get("timestamp")),
    }
    state = str(payload.get("status") or "")
    if state in STATUSES:
        return StatusReport(status=STATUSES[state], **common)
    if state in FAILED_STATUSES:
        error = payload.get("error")
        error = error if isinstance(error, dict) else {}
        if state == "expired":
            code = ReasonCode.DELIVERY_TIMED_OUT
            native_code = str(error.get("code") or "expired")
        else:
            native_code = str(error.get("code") or "failed")
            code, _transient = reason_for(native_code)
        reason = {
            "code": code.value,
            "description": str(error.get("message") or f"VIBERBM status {state}"),
            "sub_code": "UNSPECIFIED_SUB_CODE",
            "channel_code": native_code,
        }
        return StatusReport(status="FAILED", reason=reason, **common)
    return StatusReport(status="", **common)  # accepted, sent…: nothing changes
