"""Generic message → Viber REST Bot API `send_message` bodies (CHANNELS.md part 2 §3.4).

A generic message becomes one native body or, where §3.4 sends something first (a location's
title, a card's non-image media, a contact card's extra details), a list of bodies sent in
order ("parts"). Every body carries `receiver` (when known), `min_api_version` and `sender`.

Reply-type choices carry the postback envelope of part 2's conventions in `ActionBody`:
`{message_id}:{postback_data}`, or `{message_id}#{index}` when the choice has no
`postback_data` or the envelope would not fit. The short form is read back on the inbound side
from the options returned here (number = index + 1, label, postback_data).

Bodies over Viber's limits raise ValueError (→ BAD_REQUEST); labels are cut to their limit
with a final `…` (Decision 5). No I/O: `size` of videos and files is the connector's job.
"""

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from chorus.channels.base import ReplyOption, Transcoded
from chorus.channels.sms.transcode import TemplateNotResolved, render_sms
from chorus.wire.enums import Channel
from chorus.wire.messages import (
    AppMessage,
    CalendarMessage,
    CallMessage,
    CardMessage,
    CarouselMessage,
    Choice,
    ChoiceMessage,
    ContactInfoMessage,
    ListMessage,
    LocationMessage,
    MediaMessage,
    MessageContent,
    ShareLocationMessage,
    TextMessage,
    UrlMessage,
    format_coordinate,
)

SENDER_NAME = "VIBER_SENDER_NAME"
SENDER_AVATAR = "VIBER_SENDER_AVATAR"

TEXT_LIMIT = 7000
CAPTION_LIMIT = 768
BUTTON_TEXT_LIMIT = 250
SENDER_NAME_LIMIT = 28
CONTACT_NAME_LIMIT = 28
PHONE_NUMBER_LIMIT = 18
FILE_NAME_LIMIT = 256
KEYBOARD_BUTTONS = 24
CAROUSEL_CARDS = 6
ITEM_ROWS = 7
ACTION_BODY_LIMIT = 4096  # chorus behaviour: the size Viber allows tracking_data

IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif", "webp", "bmp"})
VIDEO_EXTENSIONS = frozenset({"mp4", "mov", "m4v", "3gp", "webm", "avi"})
AUDIO_EXTENSIONS = frozenset({"mp3", "m4a", "aac", "ogg", "oga", "opus", "wav", "amr"})


def media_kind(url: str) -> str:
    """image | video | audio | document, by the URL path's extension (part 2 conventions)."""
    path = urlsplit(url).path
    name = path.rsplit("/", 1)[-1]
    extension = name.rsplit(".", 1)[-1].casefold() if "." in name else ""
    if extension in IMAGE_EXTENSIONS:
        return "image"
    if extension in VIDEO_EXTENSIONS:
        return "video"
    if extension in AUDIO_EXTENSIONS:
        return "audio"
    return "document"


def file_name_of(url: str) -> str:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return name or "file"


def cut_label(text: str, limit: int) -> str:
    """A label over `limit` code points, cut with its last kept character replaced by `…`."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def maps_url(latitude: float, longitude: float) -> str:
    return (
        f"https://maps.google.com/?q={format_coordinate(latitude)},{format_coordinate(longitude)}"
    )


def envelope(message_id: str, postback_data: str | None, index: int) -> str:
    if postback_data:
        full = f"{message_id}:{postback_data}"
        if len(full) <= ACTION_BODY_LIMIT:
            return full
    return f"{message_id}#{index}"


class _Parts:
    """The native bodies of one message, and the reply options their buttons carry."""

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.bodies: list[dict[str, Any]] = []
        self.options: list[ReplyOption] = []
        self.next_index = 0

    def add(self, body: dict[str, Any], api_version: int = 1) -> None:
        self.bodies.append({"min_api_version": api_version, **body})

    def button(self, choice: Choice, rows: int = 1) -> tuple[dict[str, Any], int]:
        """A full-width button for a choice, and the `min_api_version` it needs."""
        index = self.next_index
        self.next_index += 1
        label = cut_label(choice.label, BUTTON_TEXT_LIMIT)
        reply = envelope(self.message_id, choice.postback_data, index)
        action = choice.chosen
        version = 1
        match action:
            case TextMessage():
                kind, body = "reply", reply
            case UrlMessage():
                kind, body = "open-url", action.url
            case CallMessage():
                kind, body = "open-url", "tel:+" + re.sub(r"[^0-9]", "", action.phone_number)
            case LocationMessage():
                coordinates = action.coordinates
                kind, body = "open-url", maps_url(coordinates.latitude, coordinates.longitude)
            case CalendarMessage():
                kind, body = (
                    ("open-url", action.fallback_url)
                    if action.fallback_url
                    else (
                        "reply",
                        reply,
                    )
                )
            case ShareLocationMessage():
                kind, body, version = "location-picker", reply, 3
            case _:
                raise AssertionError(f"unhandled choice kind {choice.chosen_key}")
        if kind == "reply":
            self.options.append(ReplyOption(index + 1, choice.label, choice.postback_data))
        button = {
            "Columns": 6,
            "Rows": rows,
            "ActionType": kind,
            "ActionBody": body,
            "Text": label,
            "Silent": True,
        }
        return button, version

    def keyboard(self, choices: list[Choice]) -> tuple[dict[str, Any], int]:
        if len(choices) > KEYBOARD_BUTTONS:
            raise ValueError(
                f"Viber keyboards hold at most {KEYBOARD_BUTTONS} buttons; got {len(choices)}"
            )
        buttons, version = [], 1
        for choice in choices:
            button, needed = self.button(choice)
            buttons.append(button)
            version = max(version, needed)
        return {"Type": "keyboard", "DefaultHeight": False, "Buttons": buttons}, version


def transcode_viber(
    message: AppMessage,
    *,
    message_id: str,
    recipient: str | None = None,
    sender: str | None = None,
    properties: Mapping[str, str] | None = None,
) -> Transcoded:
    """The native body (or list of bodies) of `message` on VIBER, with its reply options.

    `sender` is the sender name to use when `VIBER_SENDER_NAME` is not set (the app's
    display name); without either the connector fills in `sender.name`.
    """
    properties = properties or {}
    sender_object = _sender(properties, sender)
    explicit = (message.explicit_channel_message or {}).get(Channel.VIBER)
    if explicit is not None:
        return Transcoded(native=_explicit(explicit, recipient, sender_object))
    # channel_specific_message has no VIBER message type: ignored (§7.2).
    source: Any = message
    override = (message.explicit_channel_omni_message or {}).get(Channel.VIBER)
    if override is not None:
        if override.template_reference is not None:
            raise TemplateNotResolved(
                "template_reference must be resolved to the template's content before it "
                "is transcoded for VIBER"
            )
        source = override
    elif message.template_message is not None:
        raise TemplateNotResolved(
            "template_message must be resolved to the template's content before it is "
            "transcoded for VIBER"
        )
    parts = _Parts(message_id)
    _content(source.content, parts)
    bodies = [_with_header(body, recipient, sender_object) for body in parts.bodies]
    native: Any = bodies[0] if len(bodies) == 1 else bodies
    return Transcoded(native=native, options=parts.options)


def _sender(properties: Mapping[str, str], fallback: str | None) -> dict[str, str]:
    sender: dict[str, str] = {}
    name = properties.get(SENDER_NAME) or fallback
    if name:
        sender["name"] = cut_label(str(name), SENDER_NAME_LIMIT)
    if properties.get(SENDER_AVATAR):
        sender["avatar"] = str(properties[SENDER_AVATAR])
    return sender


def _with_header(
    body: dict[str, Any], recipient: str | None, sender: dict[str, str]
) -> dict[str, Any]:
    header: dict[str, Any] = {}
    if recipient is not None:
        header["receiver"] = recipient
    header["min_api_version"] = body.pop("min_api_version", 1)
    if sender:
        header["sender"] = dict(sender)
    return {**header, **body}


def _explicit(payload: str, recipient: str | None, sender: dict[str, str]) -> dict[str, Any]:
    """`explicit_channel_message["VIBER"]`: the `send_message` body as given; chorus sets
    `receiver` and, when absent, `sender` (field by field) and `min_api_version`."""
    try:
        body = json.loads(payload)
    except ValueError:
        raise ValueError("explicit_channel_message VIBER is not valid JSON") from None
    if not isinstance(body, dict):
        raise ValueError("explicit_channel_message VIBER must be a send_message JSON object")
    native: dict[str, Any] = {}
    if recipient is not None:
        native["receiver"] = recipient
    native["min_api_version"] = body.get("min_api_version", 1)
    given = body.get("sender")
    if isinstance(given, dict):
        native["sender"] = {**sender, **given}
    elif given is None and sender:
        native["sender"] = dict(sender)
    native.update({k: v for k, v in body.items() if k not in native and k != "receiver"})
    if given is not None and not isinstance(given, dict):
        native["sender"] = given
    return native


def _text(text: str, field: str = "text") -> dict[str, Any]:
    if not text:
        raise ValueError(f"{field}: Viber text messages cannot be empty")
    if len(text) > TEXT_LIMIT:
        raise ValueError(f"{field} has {len(text)} characters; the Viber limit is {TEXT_LIMIT}")
    return {"type": "text", "text": text}


def _media(media: MediaMessage) -> dict[str, Any]:
    kind = media_kind(media.url)
    if kind == "image":
        body: dict[str, Any] = {"type": "picture", "media": media.url}
    elif kind == "video":
        body = {"type": "video", "media": media.url}
    else:
        name = media.filename_override or file_name_of(media.url)
        if len(name) > FILE_NAME_LIMIT:
            raise ValueError(
                f"file_name has {len(name)} characters; the Viber limit is {FILE_NAME_LIMIT}"
            )
        return {"type": "file", "media": media.url, "file_name": name}
    if media.thumbnail_url:
        body["thumbnail"] = media.thumbnail_url
    return body


def _content(content: MessageContent, parts: _Parts) -> None:
    match content:
        case TextMessage():
            parts.add(_text(content.text))
        case MediaMessage():
            parts.add(_media(content))
        case ChoiceMessage():
            _choice(content, parts)
        case CardMessage():
            _carousel([content], [], parts)
        case CarouselMessage():
            if len(content.cards) > CAROUSEL_CARDS:
                raise ValueError(
                    f"a Viber carousel holds at most {CAROUSEL_CARDS} cards; "
                    f"got {len(content.cards)}"
                )
            _carousel(content.cards, content.choices or [], parts)
        case LocationMessage():
            _location(content, parts)
        case ContactInfoMessage():
            _contact_info(content, parts)
        case ListMessage():
            _list(content, parts)
        case _:
            raise TemplateNotResolved(
                "a template must be resolved to its content before it is transcoded for VIBER"
            )


def _choice(message: ChoiceMessage, parts: _Parts) -> None:
    if message.text_message is not None:
        prompt = message.text_message.text
    else:  # Viber needs a text to hang the keyboard on: the labels, one a line
        prompt = "\n".join(choice.label for choice in message.choices)
    body = _text(prompt, "choice_message.text_message.text")
    keyboard, version = parts.keyboard(message.choices)
    parts.add({**body, "keyboard": keyboard}, version)


def _card_item(
    card: CardMessage, parts: _Parts
) -> tuple[list[dict[str, Any]], int, list[Choice], list[Choice]]:
    """A card's media and text buttons, the rows they use, the choices that do not fit the
    item (they go to the keyboard) and those that do. Non-image media is sent first as its
    own part."""
    buttons: list[dict[str, Any]] = []
    rows = 0
    media = card.media_message
    if media is not None:
        if media_kind(media.url) == "image":
            buttons.append({"Columns": 6, "Rows": 3, "ActionType": "none", "Image": media.url})
            rows += 3
        else:
            parts.add(_media(media))
    if card.title and card.description:
        text = f"<b>{card.title}</b><br>{card.description}"
    elif card.title:
        text = f"<b>{card.title}</b>"
    else:
        text = card.description or ""
    if text:
        buttons.append(
            {
                "Columns": 6,
                "Rows": 2,
                "ActionType": "none",
                "Text": cut_label(text, BUTTON_TEXT_LIMIT),
            }
        )
        rows += 2
    fitting = max(0, ITEM_ROWS - rows)
    choices = card.choices or []
    return buttons, rows, choices[fitting:], choices[:fitting]


def _carousel(cards: list[CardMessage], outer: list[Choice], parts: _Parts) -> None:
    items: list[tuple[list[dict[str, Any]], int]] = []
    overflow: list[Choice] = []
    version = 2 if len(cards) == 1 else 7
    for card in cards:
        buttons, rows, left_over, fitting = _card_item(card, parts)
        for choice in fitting:
            button, needed = parts.button(choice)
            buttons.append(button)
            rows += 1
            version = max(version, needed)
        overflow.extend(left_over)
        items.append((buttons, rows))
    overflow.extend(outer)
    tallest = max(rows for _, rows in items)
    all_buttons: list[dict[str, Any]] = []
    for buttons, rows in items:
        all_buttons.extend(buttons)
        if buttons and rows < tallest:
            all_buttons.append({"Columns": 6, "Rows": tallest - rows, "ActionType": "none"})
    keyboard: dict[str, Any] | None = None
    if overflow:
        keyboard, needed = parts.keyboard(overflow)
        version = max(version, needed)
    if not all_buttons:
        # Only non-image media and choices: the media went first; the choices ride on a
        # text of their labels.
        if keyboard is not None:
            prompt = "\n".join(choice.label for choice in overflow)
            parts.add({**_text(prompt), "keyboard": keyboard}, version)
        return
    alt_text = "\n".join(line for card in cards for line in (card.title, card.description) if line)
    body: dict[str, Any] = {"type": "rich_media"}
    if alt_text:
        body["alt_text"] = alt_text
    body["rich_media"] = {
        "Type": "rich_media",
        "ButtonsGroupColumns": 6,
        "ButtonsGroupRows": tallest,
        "Buttons": all_buttons,
    }
    if keyboard is not None:
        body["keyboard"] = keyboard
    parts.add(body, version)


def _location(location: LocationMessage, parts: _Parts) -> None:
    heading = "\n".join(line for line in (location.title, location.label) if line)
    if heading:
        parts.add(_text(heading, "location_message.title"))
    coordinates = location.coordinates
    parts.add(
        {
            "type": "location",
            "location": {"lat": coordinates.latitude, "lon": coordinates.longitude},
        }
    )


def _contact_info(contact: ContactInfoMessage, parts: _Parts) -> None:
    block = render_sms(AppMessage(contact_info_message=contact)).body
    phone = contact.phone_numbers[0].phone_number if contact.phone_numbers else ""
    if not phone or len(phone) > PHONE_NUMBER_LIMIT:
        parts.add(_text(block, "contact_info_message"))  # degraded: the SMS contact block
        return
    parts.add(
        {
            "type": "contact",
            "contact": {
                "name": cut_label(contact.name.full_name, CONTACT_NAME_LIMIT),
                "phone_number": phone,
            },
        }
    )
    more = (
        len(contact.phone_numbers) > 1
        or contact.email_addresses
        or contact.addresses
        or contact.organization
        or contact.urls
        or contact.birthday
        or len(contact.name.full_name) > CONTACT_NAME_LIMIT
    )
    if more:
        parts.add(_text(block, "contact_info_message"))


def _list(message: ListMessage, parts: _Parts) -> None:
    text = render_sms(AppMessage(list_message=message)).body
    body = _text(text, "list_message")
    choices = [
        Choice(
            text_message=TextMessage(text=item.choice.title),
            postback_data=item.choice.postback_data,
        )
        for section in message.sections
        for item in section.items
        if item.choice is not None
    ]
    if choices and len(choices) <= KEYBOARD_BUTTONS:
        keyboard, version = parts.keyboard(choices)
        parts.add({**body, "keyboard": keyboard}, version)
    else:
        parts.add(body)
