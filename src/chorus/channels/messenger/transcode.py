"""Generic message → Messenger Send API body (CHANNELS.md part 2 §1.4, §1.5, §7.2).

The native payload is the whole `POST /me/messages` body: `recipient`, `messaging_type`,
`notification_type`, `tag` (with `MESSAGE_TAG`) and `message`. A generic message that needs
more than one native call (a card whose media is not an image, a list with media) becomes a
list of bodies, sent in order as parts (part 2 conventions, "Parts").

Limits (§1.4): bodies — text 2000, button-template text 640 — are never cut: a longer one
raises ValueError, which the pipeline reports as BAD_REQUEST. Labels — quick-reply and button
titles (20), element titles and subtitles (80) — are cut to the limit, the last kept character
replaced by `…` (Decision 5).

Buttons and quick replies that come back as webhooks carry the postback envelope
`{message_id}:{postback_data}`, or `{message_id}#{index}` (the choice's 0-based index, counted
across cards) when the choice has no `postback_data` or the envelope would not fit in 1000
characters. The choices that carry an envelope are returned as the rendering's options, with
`number` = that index.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from chorus.channels.base import ReplyOption, Transcoded
from chorus.channels.sms.transcode import TemplateNotResolved, call_number, render_sms
from chorus.wire.enums import Channel
from chorus.wire.events import AppEvent
from chorus.wire.messages import (
    AppMessage,
    CalendarMessage,
    CallMessage,
    CardHeight,
    CardMessage,
    CarouselMessage,
    Choice,
    ChoiceMessage,
    ContactInfoMessage,
    Coordinates,
    ListMessage,
    LocationMessage,
    MediaMessage,
    MessageContent,
    ShareLocationMessage,
    TextMessage,
    UrlMessage,
    format_coordinate,
)

TEXT_LIMIT = 2000
BUTTON_TEXT_LIMIT = 640
MAX_QUICK_REPLIES = 13
QUICK_REPLY_TITLE_LIMIT = 20
BUTTON_TITLE_LIMIT = 20
MAX_BUTTONS = 3
MAX_ELEMENTS = 10
ELEMENT_TITLE_LIMIT = 80
ELEMENT_SUBTITLE_LIMIT = 80
PAYLOAD_LIMIT = 1000

MESSAGING_TYPE = "MESSENGER_MESSAGING_TYPE"
MESSAGE_TAG = "MESSENGER_MESSAGE_TAG"
NOTIFICATION_TYPE = "MESSENGER_NOTIFICATION_TYPE"
MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
NOTIFICATION_TYPES = ("REGULAR", "SILENT_PUSH", "NO_PUSH")

# A choice message without text still needs a text to carry its quick replies or buttons.
DEFAULT_PROMPT = "Choose an option"

_EXTENSIONS = {
    "image": ("jpg", "jpeg", "png", "gif", "webp", "bmp"),
    "video": ("mp4", "mov", "m4v", "3gp", "webm", "avi"),
    "audio": ("mp3", "m4a", "aac", "ogg", "oga", "opus", "wav", "amr"),
}
# The §1.4 name of each media kind as a Messenger attachment type.
_ATTACHMENT_TYPES = {"image": "image", "video": "video", "audio": "audio", "document": "file"}


def media_kind(url: str) -> str:
    """image | video | audio | document, by the URL path's extension (part 2 conventions)."""
    path = urlsplit(url).path
    name = path.rsplit("/", 1)[-1]
    extension = name.rsplit(".", 1)[-1].casefold() if "." in name else ""
    for kind, extensions in _EXTENSIONS.items():
        if extension in extensions:
            return kind
    return "document"


def attachment_type(url: str) -> str:
    return _ATTACHMENT_TYPES[media_kind(url)]


def label(text: str, limit: int) -> str:
    """A label cut to `limit` characters, the last kept one replaced by `…` (Decision 5)."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def maps_url(coordinates: Coordinates) -> str:
    latitude = format_coordinate(coordinates.latitude)
    longitude = format_coordinate(coordinates.longitude)
    return f"https://www.google.com/maps/search/?api=1&query={latitude},{longitude}"


def phone_payload(number: str) -> str:
    """`+` and the digits of a phone number, as a `phone_number` button wants it."""
    return "+" + re.sub(r"[^0-9]", "", number)


# --- the rendering of one message ---------------------------------------------------------------


@dataclass
class _Rendering:
    """Builds the native `message` objects of one generic message: the envelopes and the
    options they name, and any parts that go before the main one."""

    message_id: str
    next_index: int = 0
    options: list[ReplyOption] = field(default_factory=list)
    parts: list[dict[str, Any]] = field(default_factory=list)  # messages before the main one

    def envelope(self, choice_label: str, postback_data: str | None) -> str:
        index = self.next_index
        self.next_index += 1
        self.options.append(ReplyOption(index, choice_label, postback_data))
        if postback_data:
            full = f"{self.message_id}:{postback_data}"
            if len(full) <= PAYLOAD_LIMIT:
                return full
        return f"{self.message_id}#{index}"

    def skip(self) -> None:
        """A choice that carries no envelope still counts in the index."""
        self.next_index += 1

    def quick_reply(self, choice_label: str, postback_data: str | None) -> dict[str, Any]:
        return {
            "content_type": "text",
            "title": label(choice_label, QUICK_REPLY_TITLE_LIMIT),
            "payload": self.envelope(choice_label, postback_data),
        }

    def button(self, choice: Choice) -> dict[str, Any]:
        action = choice.chosen
        match action:
            case TextMessage():
                return self._postback(action.text, choice.postback_data)
            case UrlMessage():
                self.skip()
                return _web_url(action.title, action.url)
            case CallMessage():
                self.skip()
                return {
                    "type": "phone_number",
                    "title": label(action.title, BUTTON_TITLE_LIMIT),
                    "payload": phone_payload(action.phone_number),
                }
            case LocationMessage():
                self.skip()
                return _web_url(action.title, maps_url(action.coordinates))
            case CalendarMessage() | ShareLocationMessage():
                if action.fallback_url:
                    self.skip()
                    return _web_url(action.title, action.fallback_url)
                return self._postback(action.title, choice.postback_data)
        raise AssertionError(f"unhandled choice kind {choice.chosen_key}")

    def _postback(self, title: str, postback_data: str | None) -> dict[str, Any]:
        return {
            "type": "postback",
            "title": label(title, BUTTON_TITLE_LIMIT),
            "payload": self.envelope(title, postback_data),
        }


def _web_url(title: str, url: str) -> dict[str, Any]:
    return {"type": "web_url", "title": label(title, BUTTON_TITLE_LIMIT), "url": url}


def _media_attachment(url: str) -> dict[str, Any]:
    return {
        "attachment": {"type": attachment_type(url), "payload": {"url": url, "is_reusable": False}}
    }


def _text(text: str, what: str = "text") -> dict[str, Any]:
    if len(text) > TEXT_LIMIT:
        raise ValueError(
            f"{what} has {len(text)} characters; Messenger allows at most {TEXT_LIMIT}"
        )
    return {"text": text}


def _button_template(text: str, buttons: list[dict[str, Any]], what: str) -> dict[str, Any]:
    if len(text) > BUTTON_TEXT_LIMIT:
        raise ValueError(
            f"{what} has {len(text)} characters; a Messenger button template allows at most "
            f"{BUTTON_TEXT_LIMIT}"
        )
    return {
        "attachment": {
            "type": "template",
            "payload": {"template_type": "button", "text": text, "buttons": buttons},
        }
    }


def _with_quick_replies(message: dict[str, Any], quick_replies: list[dict[str, Any]]) -> dict:
    if len(quick_replies) > MAX_QUICK_REPLIES:
        raise ValueError(
            f"{len(quick_replies)} quick replies; Messenger allows at most {MAX_QUICK_REPLIES}"
        )
    if quick_replies:
        message["quick_replies"] = quick_replies
    return message


def _choice_text_line(choice: Choice) -> str:
    """A choice that does not fit as a button, as an SMS-rendering line without a number."""
    action = choice.chosen
    match action:
        case UrlMessage():
            return f"{action.title}: {action.url}"
        case CallMessage():
            return f"{action.title}: {call_number(action.phone_number)}"
        case LocationMessage():
            return f"{action.title}: {maps_url(action.coordinates)}"
        case CalendarMessage() | ShareLocationMessage():
            return f"{action.title}: {action.fallback_url}" if action.fallback_url else action.title
    return choice.label


def _choice(content: ChoiceMessage, rendering: _Rendering) -> dict[str, Any]:
    text = content.text_message.text if content.text_message else DEFAULT_PROMPT
    choices = content.choices
    if all(c.text_message is not None for c in choices):
        replies = [rendering.quick_reply(c.label, c.postback_data) for c in choices]
        return _with_quick_replies(_text(text, "choice_message.text_message.text"), replies)
    buttons: list[dict[str, Any]] = []
    replies = []
    extra_lines: list[str] = []
    for choice in choices:
        if choice.text_message is not None:
            replies.append(rendering.quick_reply(choice.label, choice.postback_data))
        elif len(buttons) < MAX_BUTTONS:
            buttons.append(rendering.button(choice))
        else:
            rendering.skip()
            extra_lines.append(_choice_text_line(choice))
    body = "\n".join([text, *extra_lines])
    template = _button_template(body, buttons, "choice_message text with the extra choices")
    return _with_quick_replies(template, replies)


def _element(card: CardMessage, rendering: _Rendering, where: str) -> tuple[dict, list[Choice]]:
    """One generic-template element of a card, and the card's choices beyond its 3 buttons.
    A media that is not an image goes first as a separate part."""
    element: dict[str, Any] = {}
    title, subtitle = card.title, card.description
    if not title:
        title, subtitle = subtitle, None
    media_url = str(card.media_message.url) if card.media_message else None
    if not title and media_url:
        title = urlsplit(media_url).path.rsplit("/", 1)[-1] or media_url
    element["title"] = label(title or "", ELEMENT_TITLE_LIMIT)
    if subtitle:
        element["subtitle"] = label(subtitle, ELEMENT_SUBTITLE_LIMIT)
    if media_url:
        if media_kind(media_url) == "image":
            element["image_url"] = media_url
        else:
            rendering.parts.append(_media_attachment(media_url))
    choices = list(card.choices or [])
    buttons = [rendering.button(c) for c in choices[:MAX_BUTTONS]]
    if buttons:
        element["buttons"] = buttons
    return element, choices[MAX_BUTTONS:]


def _remaining_quick_replies(
    choices: list[Choice], rendering: _Rendering, where: str
) -> list[dict[str, Any]]:
    replies = []
    for choice in choices:
        if choice.text_message is None:
            raise ValueError(
                f"{where}: a {choice.chosen_key} choice beyond the {MAX_BUTTONS} buttons cannot "
                "be sent on Messenger (only text choices become quick replies)"
            )
        replies.append(rendering.quick_reply(choice.label, choice.postback_data))
    return replies


def _generic_template(elements: list[dict[str, Any]], height: CardHeight | None) -> dict:
    return {
        "attachment": {
            "type": "template",
            "payload": {
                "template_type": "generic",
                "image_aspect_ratio": "square" if height == CardHeight.TALL else "horizontal",
                "elements": elements,
            },
        }
    }


def _card(card: CardMessage, rendering: _Rendering) -> dict[str, Any]:
    element, rest = _element(card, rendering, "card_message")
    if set(element) == {"title"}:
        # Meta refuses an element with a title alone ("(#100) Incomplete element data": it
        # needs a subtitle, an image or buttons too): a card that leaves nothing else (no
        # description, no choices, a media that went as a part of its own) is its text.
        return _text(element["title"], "card_message.title")
    replies = _remaining_quick_replies(rest, rendering, "card_message.choices")
    return _with_quick_replies(_generic_template([element], card.height), replies)


def _carousel(carousel: CarouselMessage, rendering: _Rendering) -> dict[str, Any]:
    if len(carousel.cards) > MAX_ELEMENTS:
        raise ValueError(
            f"{len(carousel.cards)} cards; a Messenger carousel holds at most {MAX_ELEMENTS}"
        )
    elements, replies = [], []
    for number, card in enumerate(carousel.cards):
        where = f"carousel_message.cards[{number}].choices"
        element, rest = _element(card, rendering, where)
        elements.append(element)
        replies.extend(_remaining_quick_replies(rest, rendering, where))
    replies.extend(
        _remaining_quick_replies(
            list(carousel.choices or []), rendering, "carousel_message.choices"
        )
    )
    template = _generic_template(elements, carousel.cards[0].height)
    return _with_quick_replies(template, replies)


def _location(location: LocationMessage) -> dict[str, Any]:
    element: dict[str, Any] = {"title": label(location.title or "Location", ELEMENT_TITLE_LIMIT)}
    if location.label:
        element["subtitle"] = label(location.label, ELEMENT_SUBTITLE_LIMIT)
    element["buttons"] = [_web_url("Show map", maps_url(location.coordinates))]
    return _generic_template([element], None)


def _contact_info(contact: ContactInfoMessage) -> dict[str, Any]:
    card = render_sms(AppMessage(contact_info_message=contact)).body
    if not contact.phone_numbers:
        return _text(card, "the contact card")
    buttons = [
        {
            "type": "phone_number",
            "title": label(phone.type or "Call", BUTTON_TITLE_LIMIT),
            "payload": phone_payload(phone.phone_number),
        }
        for phone in contact.phone_numbers[:MAX_BUTTONS]
    ]
    return _button_template(card, buttons, "the contact card")


def _list(content: ListMessage, rendering: _Rendering) -> dict[str, Any]:
    if content.media is not None:
        rendering.parts.append(_media_attachment(str(content.media.url)))
    text = render_sms(AppMessage(list_message=content.model_copy(update={"media": None}))).body
    items = [item for section in content.sections for item in section.items]
    replies = []
    if len(items) <= MAX_QUICK_REPLIES:
        replies = [
            rendering.quick_reply(item.choice.title, item.choice.postback_data)
            for item in items
            if item.choice is not None
        ]
    return _with_quick_replies(_text(text, "the list rendered as text"), replies)


def _message(kind: str, content: MessageContent, rendering: _Rendering) -> dict[str, Any]:
    match content:
        case TextMessage():
            return _text(content.text, "text_message.text")
        case MediaMessage():
            return _media_attachment(str(content.url))
        case ChoiceMessage():
            return _choice(content, rendering)
        case CardMessage():
            return _card(content, rendering)
        case CarouselMessage():
            return _carousel(content, rendering)
        case LocationMessage():
            return _location(content)
        case ContactInfoMessage():
            return _contact_info(content)
        case ListMessage():
            return _list(content, rendering)
    raise TemplateNotResolved(
        f"{kind} must be resolved to the template's content before it is transcoded for Messenger"
    )


# --- the request body -----------------------------------------------------------------------------


def delivery_fields(properties: Mapping[str, str] | None) -> dict[str, str]:
    """`messaging_type`, `notification_type` and `tag` from the channel properties (§1.5)."""
    properties = properties or {}
    tag = properties.get(MESSAGE_TAG)
    messaging_type = properties.get(MESSAGING_TYPE) or ("MESSAGE_TAG" if tag else "RESPONSE")
    if messaging_type not in MESSAGING_TYPES:
        raise ValueError(f"{MESSAGING_TYPE} must be one of {', '.join(MESSAGING_TYPES)}")
    if tag and messaging_type != "MESSAGE_TAG":
        raise ValueError(f"{MESSAGE_TAG} needs {MESSAGING_TYPE} MESSAGE_TAG, not {messaging_type}")
    notification_type = properties.get(NOTIFICATION_TYPE) or "REGULAR"
    if notification_type not in NOTIFICATION_TYPES:
        raise ValueError(f"{NOTIFICATION_TYPE} must be one of {', '.join(NOTIFICATION_TYPES)}")
    fields = {"messaging_type": messaging_type, "notification_type": notification_type}
    if messaging_type == "MESSAGE_TAG" and tag:
        fields["tag"] = tag
    return fields


def request_body(
    message: dict[str, Any], recipient: str | None, properties: Mapping[str, str] | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"recipient": {"id": recipient or ""}}
    body.update(delivery_fields(properties))
    body["message"] = message
    return body


def _explicit(payload: str, recipient: str | None, properties: Mapping[str, str] | None) -> dict:
    """`explicit_channel_message["MESSENGER"]`: the `message` object, or the whole body when it
    has a top-level `message` / `sender_action`. The recipient is always chorus's; the channel
    properties only fill the fields the string leaves out (§7.2)."""
    try:
        data = json.loads(payload)
    except ValueError:
        raise ValueError("explicit_channel_message.MESSENGER is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError("explicit_channel_message.MESSENGER must be a JSON object")
    if "message" not in data and "sender_action" not in data:
        return request_body(data, recipient, properties)
    body: dict[str, Any] = {"recipient": {"id": recipient or ""}}
    if "sender_action" not in data:
        for key, value in delivery_fields(properties).items():
            body[key] = data.get(key, value)
    body.update({key: value for key, value in data.items() if key != "recipient"})
    return body


def transcode_message(
    message: AppMessage,
    *,
    message_id: str,
    recipient: str | None = None,
    properties: Mapping[str, str] | None = None,
) -> Transcoded:
    """The Send API body (or the list of bodies, for a message sent in parts) of `message`,
    with the options its envelopes name. Precedence of §7.2: explicit_channel_message, then
    channel_specific_message (Messenger supports none of its types: ignored), then
    explicit_channel_omni_message, then the generic content."""
    explicit = (message.explicit_channel_message or {}).get(Channel.MESSENGER)
    if explicit is not None:
        return Transcoded(native=_explicit(explicit, recipient, properties))
    override = (message.explicit_channel_omni_message or {}).get(Channel.MESSENGER)
    source = override if override is not None else message
    rendering = _Rendering(message_id)
    main = _message(source.content_kind, source.content, rendering)
    bodies = [request_body(part, recipient, properties) for part in [*rendering.parts, main]]
    return Transcoded(native=bodies[0] if len(bodies) == 1 else bodies, options=rendering.options)


SENDER_ACTIONS = {"composing_event": "typing_on", "composing_end_event": "typing_off"}


def transcode_sender_action(event: AppEvent, recipient: str | None = None) -> Transcoded | None:
    """An app event Messenger carries as a `sender_action`, or None."""
    action = SENDER_ACTIONS.get(event.kind)
    if action is None:
        return None
    return Transcoded(native={"recipient": {"id": recipient or ""}, "sender_action": action})
