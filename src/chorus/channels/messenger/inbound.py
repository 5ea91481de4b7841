"""Messenger webhooks: mapping (CHANNELS.md part 2 §1.2, §1.7).

Verification (`X-Hub-Signature-256`) and the subscription handshake are Meta's, shared with
WhatsApp: `chorus.channels.meta`.

Mapping, per `entry[].messaging[]` event, in order: quick replies and postbacks become
`choice_response_message` by the envelope rule (part 2 conventions); text → `text_message`;
each attachment → `media_message` (the first one a `media_card_message` when the message also
has text), `location` → `location_message`, other attachment types → `fallback_message`;
echoes of chorus's own sends are ignored; `delivery` → DELIVERED per listed mid, `read` →
READ up to its watermark; anything else → unsupported, with the raw event.

One webhook may hold several Pages' events (a Meta app subscribed to several Pages): once
chorus knows the app's Page (`NativeRequest.learned_id`, the Page of the first verified
webhook), the events of any other Page are ignored and recorded, not processed.
"""

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from chorus.channels.base import (
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
from chorus.wire.messages import ReasonCode

ENVELOPE = re.compile(r"^([0-9A-Z]{26})([:#])(.*)$", re.DOTALL)
SHORT_ENVELOPE = re.compile(r"^([0-9A-Z]{26})#([0-9]{1,4})$")
MEDIA_TYPES = frozenset({"image", "video", "audio", "file"})


# --- mapping ----------------------------------------------------------------------------------


def parse_webhook(request: NativeRequest) -> list[InboundItem]:
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise InboundRejected(400, "the Messenger webhook is not valid JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise InboundRejected(400, "the Messenger webhook must be an object with `entry`")
    if payload.get("object") != "page":
        raw = request.body.decode("utf-8", "replace")
        return [Unmapped(raw, description=f"webhook for object {payload.get('object')!r}")]
    items: list[InboundItem] = []
    for entry in objects(payload["entry"]):
        items.extend(_entry(entry, request.learned_id))
    return items


def _entry(entry: dict[str, Any], page: str | None) -> list[InboundItem]:
    """The items of one `entry`, without the events of a Page other than `page` (the app's,
    when known): those are counted into one Ignored per other Page."""
    items: list[InboundItem] = []
    others: dict[str, int] = {}
    # `messaging` first, then standby, changes… (in the order the entry lists them).
    for key in ["messaging", *(k for k in entry if k not in ("id", "time", "messaging"))]:
        events = entry.get(key)
        for event in events if isinstance(events, list) else []:
            other = event_page(entry, event)
            if page is not None and other is not None and other != page:
                others[other] = others.get(other, 0) + 1
            elif key == "messaging":
                items.extend(_event(event) if isinstance(event, dict) else [])
            else:  # standby, changes…: nothing chorus maps
                items.append(_unmapped(event, f"{key} event"))
    items.extend(
        Ignored(f"{count} event(s) for Page {other!r}, not this app's Page {page!r}")
        for other, count in others.items()
    )
    return items


def event_page(entry: dict[str, Any], event: Any) -> str | None:
    """The Page an event is for: its `recipient` — the `sender` of an echo, which the Page
    sent — or the entry's `id` when the event names none."""
    if isinstance(event, dict):
        message = event.get("message")
        echo = isinstance(message, dict) and message.get("is_echo")
        page = _id(event.get("sender" if echo else "recipient"))
        if page is not None:
            return page
    return _id(entry)


def first_page(request: NativeRequest) -> str | None:
    """The Page a `page` webhook is for, as its first event names it: what chorus learns as
    the app's Page (§1.7). None for anything else."""
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or payload.get("object") != "page":
        return None
    for entry in objects(payload.get("entry")):
        page = event_page(entry, next(iter(objects(entry.get("messaging"))), None))
        if page is not None:
            return page
    return None


def _event(event: dict[str, Any]) -> list[InboundItem]:
    """The event's items; a message names the Page it was written to as its `sender_id`
    (the app-side address, API.md §8.3)."""
    page = _id(event.get("recipient"))
    return [
        replace(item, sender_id=page) if isinstance(item, InboundMessage) and page else item
        for item in _event_items(event)
    ]


def _event_items(event: dict[str, Any]) -> list[InboundItem]:
    psid = _id(event.get("sender"))
    at = from_millis(event.get("timestamp"))
    message = event.get("message")
    if isinstance(message, dict):
        if message.get("is_echo"):
            return []  # chorus's own send, echoed
        return _message(event, message, psid, at)
    postback = event.get("postback")
    if isinstance(postback, dict) and psid:
        payload = str(postback.get("payload") or "")
        title = str(postback.get("title") or "")
        native_id = str(postback.get("mid") or f"postback:{psid}:{event.get('timestamp')}")
        return [_choice(psid, payload, title, native_id, at)]
    delivery = event.get("delivery")
    if isinstance(delivery, dict):
        listed = delivery.get("mids") if isinstance(delivery.get("mids"), list) else []
        mids = [m for m in listed if isinstance(m, str) and m]
        reports = [
            StatusReport(status="DELIVERED", native_id=mid, identity=psid, at=at) for mid in mids
        ]
        # And everything sent to this PSID up to the watermark (§1.7), mids or not.
        watermark = from_millis(delivery.get("watermark"))
        if watermark is not None or not mids:
            reports.append(StatusReport(status="DELIVERED", identity=psid, at=watermark))
        return reports
    read = event.get("read")
    if isinstance(read, dict):
        # Everything sent to this PSID at or before the watermark has been read.
        return [StatusReport(status="READ", identity=psid, at=from_millis(read.get("watermark")))]
    kind = next((k for k in event if k not in ("sender", "recipient", "timestamp")), "unknown")
    return [_unmapped(event, f"{kind} event", psid)]


def _message(
    event: dict[str, Any], message: dict[str, Any], psid: str | None, at: datetime | None
) -> list[InboundItem]:
    if not psid:
        return [_unmapped(event, "message without a sender")]
    mid = str(message.get("mid") or f"message:{psid}:{event.get('timestamp')}")
    text = message.get("text") if isinstance(message.get("text"), str) else None
    # The message this one answers (`reply_to.mid`; becomes `reply_to` when chorus sent it).
    answered = message.get("reply_to") if isinstance(message.get("reply_to"), dict) else {}
    context = answered.get("mid") if isinstance(answered.get("mid"), str) else None
    quick_reply = message.get("quick_reply")
    if isinstance(quick_reply, dict) and quick_reply.get("payload") is not None:
        return [_choice(psid, str(quick_reply["payload"]), text or "", mid, at, context)]
    attachments = objects(message.get("attachments"))
    if not attachments:
        if text is None:
            return [_unmapped(event, "message without text or attachments", psid)]
        return [_inbound(psid, {"text_message": {"text": text}}, mid, at, context)]
    items: list[InboundItem] = []
    # The text is the caption of the first media attachment, wherever it is in the list.
    captioned = next((a for a in attachments if str(a.get("type") or "") in MEDIA_TYPES), None)
    for number, attachment in enumerate(attachments):
        native_id = mid if number == 0 else f"{mid}#{number}"
        caption = text if attachment is captioned else None
        content = _attachment(event, attachment, caption=caption)
        items.append(_inbound(psid, content, native_id, at, context))
    if text is not None and captioned is None:  # no media to carry it: a message of its own
        items.append(_inbound(psid, {"text_message": {"text": text}}, f"{mid}#text", at, context))
    return items


def _attachment(
    event: dict[str, Any], attachment: dict[str, Any], *, caption: str | None
) -> dict[str, Any]:
    kind = str(attachment.get("type") or "")
    payload = attachment.get("payload") if isinstance(attachment.get("payload"), dict) else {}
    if kind in MEDIA_TYPES and isinstance(payload.get("url"), str):
        if caption is not None:
            return {"media_card_message": {"url": payload["url"], "caption": caption}}
        return {"media_message": {"url": payload["url"]}}
    given = payload.get("coordinates") if isinstance(payload.get("coordinates"), dict) else {}
    place = coordinates(given.get("lat"), given.get("long")) if kind == "location" else None
    if place is not None:
        return {
            "location_message": {
                "coordinates": place,
                "title": str(attachment.get("title") or ""),
                "label": "",
            }
        }
    return {
        "fallback_message": {
            "raw_message": json.dumps(event, separators=(",", ":"), ensure_ascii=False),
            "reason": {
                "code": ReasonCode.UNSUPPORTED_OPERATION.value,
                "description": f"Messenger attachment of type {kind or 'unknown'}",
                "sub_code": "UNSPECIFIED_SUB_CODE",
                "channel_code": kind or "unknown",
            },
        }
    }


def choice_response(payload: str, title: str) -> dict[str, str]:
    """The envelope rule: `{message_id}:{postback_data}` gives both; any payload that is no
    envelope is reported as it is, without a message id. `{message_id}#{index}` is read back
    from the stored message by the inbound service (`_choice`); this is the answer when that
    message is gone: `{message_id}_{title}` (Decision 3; `title` as the webhook shows it,
    perhaps cut to the button's 20 characters)."""
    match = ENVELOPE.match(payload)
    if match is None:
        return {"message_id": "", "postback_data": payload}
    message_id, separator, rest = match.groups()
    if separator == ":":
        return {"message_id": message_id, "postback_data": rest}
    return {"message_id": message_id, "postback_data": f"{message_id}_{title}"}


def short_envelope(payload: str) -> tuple[str, int] | None:
    """(message id, choice index) of a `{message_id}#{index}` payload, else None."""
    match = SHORT_ENVELOPE.match(payload)
    return (match.group(1), int(match.group(2))) if match is not None else None


def _choice(
    psid: str,
    payload: str,
    title: str,
    native_id: str,
    at: datetime | None,
    context: str | None = None,
) -> InboundMessage:
    """A tapped quick reply or postback button. A short envelope goes as `reply_text` too:
    the inbound service reports the stored postback_data of the option it names
    (`MessengerChannel.match_reply`), or `{message_id}_{text or title}` when it had none."""
    return InboundMessage(
        identity=psid,
        contact_message={"choice_response_message": choice_response(payload, title)},
        native_id=native_id,
        at=at,
        context_native_id=context,
        reply_text=payload if short_envelope(payload) is not None else None,
    )


def _inbound(
    psid: str,
    content: dict[str, Any],
    native_id: str,
    at: datetime | None,
    context: str | None = None,
) -> Any:
    return InboundMessage(
        identity=psid,
        contact_message=content,
        native_id=native_id,
        at=at,
        context_native_id=context,
    )


def _unmapped(event: Any, description: str, psid: str | None = None) -> Unmapped:
    raw = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return Unmapped(raw, identity=psid, description=description)


def _id(party: Any) -> str | None:
    """A sender's or recipient's id: digits as a string or a number (anything else names no
    one, and must not become an identity)."""
    value = party.get("id") if isinstance(party, dict) else None
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


def from_millis(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None  # beyond the years a datetime holds
