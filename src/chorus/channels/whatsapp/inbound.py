"""WhatsApp webhooks: mapping (CHANNELS.md part 1 §2.7). Verification (`X-Hub-Signature-256`)
and the subscription handshake are Meta's, shared with Messenger: `chorus.channels.meta`.

One webhook carries `entry[].changes[]`; a `messages` change holds contact messages
(`value.messages`) and statuses of what chorus sent (`value.statuses`); a
`phone_number_quality_update` change is news about the business number (a channel event).
"""

import json
import math
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from chorus.channels.base import (
    ChannelEvent,
    Ignored,
    InboundItem,
    InboundMessage,
    InboundRejected,
    NativeRequest,
    StatusReport,
    Unmapped,
    coordinates,
    objects,
)
from chorus.channels.whatsapp.connector import reason_for_code
from chorus.wire.enums import Channel
from chorus.wire.identities import normalise_identity

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
CAPTIONED = ("image", "video", "document")
# `{message_id}_{text}`: the default id of a choice (Decision 3) names its message.
_DEFAULT_CHOICE_ID = re.compile(r"^([0-9A-Z]{26})_")


def media_url(request: NativeRequest, media_id: str, public_base_url: str | None = None) -> str:
    """Where chorus serves an inbound media id (§2.7, "Media URLs")."""
    if public_base_url is None:
        host = request.headers.get("x-forwarded-host") or request.headers.get("host") or "localhost"
        scheme = request.headers.get("x-forwarded-proto") or "http"
        public_base_url = f"{scheme}://{host}"
    return f"{public_base_url.rstrip('/')}/inbound/whatsapp/{request.app_id}/media/{media_id}"


def parse_webhook(
    request: NativeRequest,
    *,
    phone_number_id: str | None = None,
    public_base_url: str | None = None,
) -> list[InboundItem]:
    """Contact messages, status reports and the unmapped. With `phone_number_id`, a change
    for another business number is reported unmapped rather than processed."""
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise InboundRejected(400, "the WhatsApp webhook is not valid JSON") from None
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        return [Unmapped(_raw(payload), description="not a whatsapp_business_account webhook")]
    items: list[InboundItem] = []
    for entry in objects(payload.get("entry")):
        for change in objects(entry.get("changes")):
            items.extend(_change(request, change, phone_number_id, public_base_url))
    return items


def _change(
    request: NativeRequest,
    change: Any,
    phone_number_id: str | None,
    public_base_url: str | None,
) -> list[InboundItem]:
    if not isinstance(change, dict):
        return [Unmapped(_raw(change), description="a change that is not an object")]
    field = change.get("field")
    value = change.get("value") if isinstance(change.get("value"), dict) else {}
    if field == "phone_number_quality_update":
        return [_quality_update(change, value)]
    if field != "messages":
        return [Unmapped(_raw(change), description=f"WhatsApp change field {field!r}")]
    metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    business = str(metadata.get("phone_number_id") or "")
    if phone_number_id is not None and business != phone_number_id:
        return [Ignored(f"a change for phone number id {business!r}, not this app's")]
    items: list[InboundItem] = []
    names = _profile_names(value.get("contacts"))
    for message in objects(value.get("messages")):
        item = _message(request, message, business, public_base_url)
        name = names.get(str(message.get("from") or ""))
        items.append(
            replace(item, profile_name=name) if name and isinstance(item, InboundMessage) else item
        )
    for status in objects(value.get("statuses")):
        items.append(_status(status))
    if value.get("errors"):
        items.append(Unmapped(_raw(value), description="WhatsApp reported errors"))
    return items


def _message(
    request: NativeRequest, message: dict[str, Any], business: str, public_base_url: str | None
) -> InboundItem:
    sender = message.get("from")
    if not isinstance(sender, str | int) or isinstance(sender, bool) or sender == "":
        return Unmapped(_raw(message), description="a WhatsApp message without `from`")
    identity = normalise_identity(Channel.WHATSAPP, str(sender))
    kind = message.get("type")
    body = (
        message.get(kind) if isinstance(kind, str) and isinstance(message.get(kind), dict) else {}
    )
    content: dict[str, Any] | None = None
    reply_text: str | None = None
    # A tapped reply's content when its context resolves to no message of chorus's.
    unresolved: dict[str, Any] | None = None
    if kind == "text":
        text = str(body.get("body") or "")
        content, reply_text = {"text_message": {"text": text}}, text
    elif kind in MEDIA_KINDS:
        url = str(body.get("link") or "") or media_url(
            request, str(body.get("id") or ""), public_base_url
        )
        caption = body.get("caption")
        if caption and kind in CAPTIONED:
            content = {"media_card_message": {"url": url, "caption": caption}}
        else:
            media: dict[str, Any] = {"url": url}
            if kind == "document" and body.get("filename"):
                media["filename_override"] = body["filename"]
            content = {"media_message": media}
    elif kind == "location":
        place = coordinates(body.get("latitude"), body.get("longitude"))
        if place is not None:  # else not a location: unmapped, as an unknown type
            location: dict[str, Any] = {"coordinates": place, "title": body.get("name") or ""}
            if body.get("address"):
                location["label"] = body["address"]
            content = {"location_message": location}
    elif kind == "interactive" and body.get("type") in ("button_reply", "list_reply"):
        reply = body.get(body["type"]) if isinstance(body.get(body["type"]), dict) else {}
        postback = str(reply.get("id") or "")
        content, reply_text = _choice_response(postback), postback
        unresolved = _unanswered(message, kind)
    elif (
        kind == "interactive"
        and body.get("type") == "nfm_reply"
        and isinstance(body.get("nfm_reply"), dict)
    ):
        content = {
            "channel_specific_message": {"message_type": "nfm_reply", "message": body["nfm_reply"]}
        }
    elif kind == "button":
        content = _choice_response(str(body.get("payload") or body.get("text") or ""))
        unresolved = _unanswered(message, kind)
    elif kind == "order":
        content = {"product_response_message": _order(body)}
    elif kind in ("contacts", "unsupported", "interactive"):
        content = _fallback(
            message, str(kind), f"WhatsApp {kind} messages have no Conversation API form"
        )
    if content is None:  # reaction, system, unknown types
        return Unmapped(_raw(message), identity=identity, description=f"WhatsApp {kind} message")
    context_id = _context_id(message.get("context"))
    if unresolved is not None and context_id is None:
        content, reply_text, unresolved = unresolved, None, None
    return InboundMessage(
        identity=identity,
        contact_message=content,
        native_id=str(message.get("id") or ""),
        sender_id=business or None,
        at=_time(message.get("timestamp")),
        reply_text=reply_text,
        context_native_id=context_id,
        unresolved_context=unresolved,
    )


def _unanswered(message: dict[str, Any], kind: str) -> dict[str, Any]:
    """A tapped reply names what it answers only by `context.id`: without one, or with one
    that names no message chorus stored, it answers nothing of the app's (§2.7 table)."""
    return _fallback(message, kind, f"a WhatsApp {kind} reply to no message of this app")


def _fallback(message: dict[str, Any], kind: str, description: str) -> dict[str, Any]:
    """A message the Conversation API has no form for, carried raw (§2.7 table)."""
    return {
        "fallback_message": {
            "raw_message": _raw(message),
            "reason": {
                "code": "UNSUPPORTED_OPERATION",
                "description": description,
                "sub_code": "UNSPECIFIED_SUB_CODE",
                "channel_code": kind,
            },
        }
    }


def _quality_update(change: dict[str, Any], value: dict[str, Any]) -> InboundItem:
    """The business number's quality rating changed (`value.event`: FLAGGED, UNFLAGGED,
    DOWNGRADE, UPGRADE…). The change names the number only by its display form, so it is
    not checked against the credential as a `messages` change is."""
    event = value.get("event")
    if not isinstance(event, str) or not event:
        return Unmapped(_raw(change), description="a quality update without `event`")
    return ChannelEvent(
        event_type="WHATS_APP_QUALITY_RATING_CHANGED",
        additional_data={"quality_rating": event},
    )


def _profile_names(contacts: Any) -> dict[str, str]:
    """`contacts[].profile.name` by `wa_id`: who wrote, as their WhatsApp profile names them."""
    names: dict[str, str] = {}
    for contact in contacts if isinstance(contacts, list) else []:
        if not isinstance(contact, dict) or not isinstance(contact.get("profile"), dict):
            continue
        name = contact["profile"].get("name")
        if isinstance(name, str) and name.strip() and contact.get("wa_id"):
            names[str(contact["wa_id"])] = name.strip()
    return names


def _choice_response(postback: str) -> dict[str, Any]:
    """A tapped reply; the message it answers is filled in from the choice's default id, or
    by the pipeline from its context (the options it matches: see plugin.match_reply)."""
    named = _DEFAULT_CHOICE_ID.match(postback)
    return {
        "choice_response_message": {
            "message_id": named.group(1) if named else "",
            "postback_data": postback,
        }
    }


def _order(order: dict[str, Any]) -> dict[str, Any]:
    products = []
    for item in objects(order.get("product_items")):
        product: dict[str, Any] = {
            "id": str(item.get("product_retailer_id") or ""),
            "marketplace": "FACEBOOK",
        }
        quantity, price = _number(item.get("quantity"), int), _number(item.get("item_price"), float)
        if quantity is not None:
            product["quantity"] = quantity
        if price is not None:
            product["item_price"] = price
        if item.get("currency"):
            product["currency"] = item["currency"]
        products.append(product)
    response: dict[str, Any] = {"products": products}
    if order.get("text"):
        response["text"] = order["text"]
    if order.get("catalog_id"):
        response["catalog_id"] = order["catalog_id"]
    return response


def _status(status: dict[str, Any]) -> StatusReport:
    recipient = status.get("recipient_id")
    common: dict[str, Any] = {
        "native_id": str(status.get("id") or "") or None,
        "identity": normalise_identity(Channel.WHATSAPP, recipient)
        if isinstance(recipient, str)
        else None,
        "at": _time(status.get("timestamp")),
    }
    name = status.get("status")
    if name == "delivered":
        return StatusReport(status="DELIVERED", **common)
    if name == "read":
        return StatusReport(status="READ", **common)
    if name == "failed":
        error = (objects(status.get("errors")) or [{}])[0]
        data = error.get("error_data") if isinstance(error.get("error_data"), dict) else {}
        details = str(data.get("details") or "")
        code = error.get("code")
        reason_code, _ = reason_for_code(code, details)
        title = str(error.get("title") or error.get("message") or "failed")
        reason = {
            "code": reason_code.value,
            "description": f"{title}: {details}" if details else title,
            "sub_code": "UNSPECIFIED_SUB_CODE",
            "channel_code": str(code) if code is not None else "failed",
        }
        return StatusReport(status="FAILED", reason=reason, **common)
    return StatusReport(status="", **common)  # sent, deleted, …: nothing changes


def _context_id(context: Any) -> str | None:
    """The id of the message a reply answers (`context.id`)."""
    if not isinstance(context, dict) or not context.get("id"):
        return None
    return str(context["id"])


def _number(value: Any, kind: type[int] | type[float]) -> int | float | None:
    """A number the webhook gives as one or as a string; None for anything else."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = kind(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _raw(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
