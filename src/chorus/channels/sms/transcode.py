"""Generic message → SMS body (CHANNELS.md part 1 §1.4).

SMS carries plain text only, so every generic type becomes one body string. Options (choices,
list items) are numbered 1., 2., … in order, the numbering continuing across the cards of a
carousel and the sections of a list, so that a typed reply "2" identifies one option; the
rendering returns them so the inbound side can map such a reply back to its `postback_data`.

Parts of a body are joined with "\\n" and empty or absent fields are skipped. The transcoder
neither truncates nor checks the 2000-character limit: that is the dispatcher's decision.
"""

import re
from dataclasses import dataclass, field

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


class TemplateNotResolved(Exception):
    """A template reached the transcoder. Templates are resolved to their content by the
    template component before a message is transcoded; SMS has no channel templates."""


@dataclass(frozen=True)
class SmsOption:
    """One numbered option of a rendered body.

    `label` is the choice's text or title (what a typed reply is matched against, and the
    `{text or title}` of the default postback); `postback_data` is the option's own, or None
    when it has none. `kind` is the choice kind (`text_message`, `url_message`, …) or, for list
    items, `choice` / `product`.
    """

    number: int
    label: str
    postback_data: str | None
    kind: str


@dataclass(frozen=True)
class SmsRendering:
    body: str
    options: list[SmsOption] = field(default_factory=list)


def render_sms(message: AppMessage) -> SmsRendering:
    """The SMS body of `message`, with the numbered options it shows.

    `explicit_channel_message["SMS"]` is the body verbatim; `explicit_channel_omni_message["SMS"]`
    replaces the generic content; `channel_specific_message` has no SMS form and is ignored.
    Raises `TemplateNotResolved` for a template message or a `template_reference` override.
    """
    explicit = (message.explicit_channel_message or {}).get(Channel.SMS)
    if explicit is not None:
        return SmsRendering(body=explicit)
    override = (message.explicit_channel_omni_message or {}).get(Channel.SMS)
    source = override if override is not None else message
    numbering = _Numbering()
    body = _render_content(source.content_kind, source.content, numbering)
    return SmsRendering(body=body, options=numbering.options)


class _Numbering:
    """Hands out option numbers in render order and remembers what each number means."""

    def __init__(self) -> None:
        self.options: list[SmsOption] = []

    def next(self, label: str, postback_data: str | None, kind: str) -> int:
        number = len(self.options) + 1
        self.options.append(SmsOption(number, label, postback_data, kind))
        return number


def _lines(*parts: str | None) -> str:
    return "\n".join(part for part in parts if part)


def _maps_url(coordinates: Coordinates) -> str:
    latitude = format_coordinate(coordinates.latitude)
    longitude = format_coordinate(coordinates.longitude)
    return f"https://maps.google.com/?q={latitude},{longitude}"


def _render_content(kind: str, content: MessageContent, numbering: _Numbering) -> str:
    match content:
        case TextMessage():
            return content.text
        case MediaMessage():
            return content.url
        case ChoiceMessage():
            prompt = content.text_message.text if content.text_message else None
            return _lines(prompt, *(_choice_line(c, numbering) for c in content.choices))
        case CardMessage():
            return _card(content, numbering)
        case CarouselMessage():
            return _carousel(content, numbering)
        case LocationMessage():
            return _lines(content.title, content.label, _maps_url(content.coordinates))
        case ContactInfoMessage():
            return _contact_info(content)
        case ListMessage():
            return _list(content, numbering)
    raise TemplateNotResolved(
        f"{kind} must be resolved to the template's content before it is transcoded for SMS"
    )


def call_number(phone: str) -> str:
    """A call choice's number as text renders it (CHANNELS.md §1.9): `+` before a number of
    digits only; anything else as given."""
    return f"+{phone}" if re.fullmatch(r"[0-9]+", phone) else phone


def _choice_line(choice: Choice, numbering: _Numbering) -> str:
    number = numbering.next(choice.label, choice.postback_data, choice.chosen_key)
    action = choice.chosen
    match action:
        case TextMessage():
            return f"{number}. {action.text}"
        case UrlMessage():
            return f"{number}. {action.title}: {action.url}"
        case CallMessage():
            return f"{number}. {action.title}: {call_number(action.phone_number)}"
        case LocationMessage():
            return f"{number}. {action.title}: {_maps_url(action.coordinates)}"
        case CalendarMessage():
            if action.fallback_url:
                return f"{number}. {action.title}: {action.fallback_url}"
            return (
                f"{number}. {action.title}: {action.event_title}, "
                f"{action.event_start}\u2013{action.event_end}"
            )
        case ShareLocationMessage():
            if action.fallback_url:
                return f"{number}. {action.title}: {action.fallback_url}"
            return f"{number}. {action.title}"
    raise AssertionError(f"unhandled choice kind {choice.chosen_key}")


def _card(card: CardMessage, numbering: _Numbering) -> str:
    media_url = card.media_message.url if card.media_message else None
    choices = (_choice_line(c, numbering) for c in card.choices or [])
    return _lines(card.title, card.description, media_url, *choices)


def _carousel(carousel: CarouselMessage, numbering: _Numbering) -> str:
    blocks = [_card(card, numbering) for card in carousel.cards]
    blocks.append(_lines(*(_choice_line(c, numbering) for c in carousel.choices or [])))
    return "\n\n".join(block for block in blocks if block)


def _contact_info(contact: ContactInfoMessage) -> str:
    name = contact.name
    full_name = name.full_name or " ".join(
        part
        for part in (name.prefix, name.first_name, name.middle_name, name.last_name, name.suffix)
        if part
    )
    lines = [full_name]
    if contact.organization:
        org = contact.organization
        lines.append(", ".join(part for part in (org.title, org.company, org.department) if part))
    for phone in contact.phone_numbers:
        lines.append(f"{_labelled('Tel', phone.type)}: {phone.phone_number}")
    for email in contact.email_addresses or []:
        lines.append(f"{_labelled('Email', email.type)}: {email.email_address}")
    for address in contact.addresses or []:
        state_zip = " ".join(part for part in (address.state, address.zip) if part)
        place = ", ".join(part for part in (address.city, state_zip, address.country) if part)
        if place:
            lines.append(f"{_labelled('Address', address.type)}: {place}")
    for url in contact.urls or []:
        lines.append(f"Web: {url.url}")
    if contact.birthday:
        lines.append(f"Birthday: {contact.birthday}")
    return _lines(*lines)


def _labelled(label: str, kind: str | None) -> str:
    return f"{label} ({kind})" if kind else label


def _list(message: ListMessage, numbering: _Numbering) -> str:
    media_url = message.media.url if message.media else None
    lines = [message.title, message.description, media_url]
    for section in message.sections:
        lines.append(section.title)
        for item in section.items:
            if item.choice is not None:
                choice = item.choice
                number = numbering.next(choice.title, choice.postback_data, "choice")
                if choice.description:
                    lines.append(f"{number}. {choice.title} \u2013 {choice.description}")
                else:
                    lines.append(f"{number}. {choice.title}")
            elif item.product is not None:
                label = item.product.title or item.product.id
                number = numbering.next(label, None, "product")
                lines.append(f"{number}. {label}")
    return _lines(*lines)
