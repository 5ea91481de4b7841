"""Generic message → RBM AgentMessage body (CHANNELS.md part 1 §3.4).

The native payload is the JSON body of `POST /v1/phones/+{msisdn}/agentMessages`:
`{"contentMessage": {...}}`, where `contentMessage` holds exactly one of `text`, `contentInfo` or
`richCard`, plus optional `suggestions`. Choices become suggestions whose `postbackData` is
`{message id}|{postback_data}` (a choice without `postback_data` uses `{message id}_{text or
title}`, the value reported back, Decision 3), so the inbound side knows which message a tap
answers.

Limits are Google's (Decision 7). Labels — suggestion texts, card titles — are cut to their
limit (the last kept character replaced by `…`); any other limit raises `ValueError`, which the
pipeline reports as BAD_REQUEST (Decision 5). Types RCS lacks are rendered as the SMS text of
part 1 §1.4 (contact info, lists) or as text plus a suggestion (locations).
"""

import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from chorus.channels.base import ReplyOption, Transcoded
from chorus.channels.sms.transcode import TemplateNotResolved, render_sms
from chorus.wire.enums import Channel
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
    ListMessage,
    LocationMessage,
    MediaMessage,
    MessageContent,
    ShareLocationMessage,
    TemplateMessage,
    TemplateReference,
    TextMessage,
    UrlMessage,
    format_coordinate,
)

TEXT_LIMIT = 3072
MAX_SUGGESTIONS = 11
MAX_CARD_SUGGESTIONS = 4
SUGGESTION_TEXT_LIMIT = 25
POSTBACK_LIMIT = 2048
CARD_TITLE_LIMIT = 200
CARD_DESCRIPTION_LIMIT = 2000
MIN_CAROUSEL_CARDS = 2
MAX_CAROUSEL_CARDS = 10
POSTBACK_SEPARATOR = "|"
VIEW_LOCATION = "View location"

# Media RBM sends as a file (by the URL path's extension); anything else goes as a text link.
IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif"})
VIDEO_EXTENSIONS = frozenset({"mp4", "mpeg", "mpg", "webm", "m4v", "3gp", "3gpp"})
AUDIO_EXTENSIONS = frozenset({"mp3", "m4a", "aac", "ogg", "oga", "opus", "wav", "amr"})
DOCUMENT_EXTENSIONS = frozenset({"pdf"})
FILE_EXTENSIONS = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS | AUDIO_EXTENSIONS | DOCUMENT_EXTENSIONS


def transcode_rcs(message: AppMessage, *, message_id: str) -> Transcoded:
    """The AgentMessage body for `message`, with the choices it offers (so that a tap whose
    postback lost its message id can still be matched to the latest message offering it).

    Precedence (CHANNELS.md §7.2): `explicit_channel_message["RCS"]` (sent as is), then
    `channel_specific_message["RCS"]` (RCS supports none: ignored), then
    `explicit_channel_omni_message["RCS"]`, then the generic content.
    """
    explicit = (message.explicit_channel_message or {}).get(Channel.RCS)
    if explicit is not None:
        body = explicit_body(explicit)
        return Transcoded(native=body, options=offered_postbacks(body))
    override = (message.explicit_channel_omni_message or {}).get(Channel.RCS)
    source = override if override is not None else message
    builder = _Builder(message_id)
    content = builder.content(source.content_kind, source.content)
    return Transcoded(native={"contentMessage": content}, options=builder.options)


def explicit_body(payload: str) -> dict[str, Any]:
    """`explicit_channel_message["RCS"]`: an RBM AgentMessage body, sent as is."""
    try:
        body = json.loads(payload)
    except ValueError:
        raise ValueError("explicit_channel_message.RCS is not valid JSON") from None
    if not isinstance(body, dict):
        raise ValueError("explicit_channel_message.RCS must be a JSON object (an AgentMessage)")
    return body


def offered_postbacks(body: dict[str, Any]) -> list[ReplyOption]:
    """The suggestions of an explicit AgentMessage (its own and its cards'), so that a tap on
    one is reported against this message even though its postback names no message."""
    content = body.get("contentMessage") if isinstance(body.get("contentMessage"), dict) else {}
    rich = content.get("richCard") if isinstance(content.get("richCard"), dict) else {}
    cards = [((rich.get("standaloneCard") or {}).get("cardContent")) or {}]
    cards += (rich.get("carouselCard") or {}).get("cardContents") or []
    options: list[ReplyOption] = []
    for holder in [content, *cards]:
        for suggestion in (holder.get("suggestions") if isinstance(holder, dict) else None) or []:
            chip = (
                (suggestion.get("reply") or suggestion.get("action") or {})
                if isinstance(suggestion, dict)
                else {}
            )
            postback = chip.get("postbackData")
            if isinstance(postback, str) and postback:
                label = str(chip.get("text") or postback)
                options.append(ReplyOption(len(options) + 1, label, postback))
    return options


def media_kind(url: str) -> str | None:
    """`image`, `video`, `audio` or `document` (PDF) when RBM sends the URL as a file, by the
    URL path's extension (case-folded, query ignored); None when it goes as a link."""
    path = urlsplit(url).path
    extension = path.rpartition(".")[2].casefold() if "." in path.rpartition("/")[2] else ""
    if extension in IMAGE_EXTENSIONS:
        return "image"
    if extension in VIDEO_EXTENSIONS:
        return "video"
    if extension in AUDIO_EXTENSIONS:
        return "audio"
    if extension in DOCUMENT_EXTENSIONS:
        return "document"
    return None


def truncate_label(label: str, limit: int) -> str:
    """A label cut to `limit` code points, the last kept one replaced by `…` (Decision 5)."""
    if len(label) <= limit:
        return label
    return label[: limit - 1] + "\u2026"


def check_text(text: str, field: str) -> str:
    if not text:
        raise ValueError(f"{field} is empty; an RCS text message needs text")
    if len(text) > TEXT_LIMIT:
        raise ValueError(f"{field} has {len(text)} characters; the RCS limit is {TEXT_LIMIT}")
    return text


class _Builder:
    """Builds one contentMessage, remembering the choices it offers."""

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.options: list[ReplyOption] = []

    # --- content ---------------------------------------------------------------------------

    def content(self, kind: str, content: MessageContent) -> dict[str, Any]:
        match content:
            case TextMessage():
                return {"text": check_text(content.text, "text_message.text")}
            case MediaMessage():
                return self.media(content)
            case ChoiceMessage():
                return self.choice_message(content)
            case CardMessage():
                card = self.card_content(content, "card_message")
                return {"richCard": {"standaloneCard": _standalone(card)}}
            case CarouselMessage():
                return self.carousel(content)
            case LocationMessage():
                return self.location(content)
            case ContactInfoMessage():
                text = render_sms(AppMessage(contact_info_message=content)).body
                return {"text": check_text(text, "contact_info_message")}
            case ListMessage():
                return self.list_message(content)
            case TemplateMessage():
                if content.omni_template is None:
                    raise ValueError(
                        "RCS has no channel templates: a template_message needs an omni_template"
                    )
        if isinstance(content, TemplateMessage | TemplateReference):
            raise TemplateNotResolved(
                f"{kind} must be resolved to the template's content before it is transcoded"
            )
        raise ValueError(f"{kind} cannot be sent on RCS")

    def media(self, media: MediaMessage) -> dict[str, Any]:
        if media_kind(media.url) is None:
            return {"text": check_text(media.url, "media_message.url")}
        return {"contentInfo": _content_info(media)}

    def choice_message(self, message: ChoiceMessage) -> dict[str, Any]:
        if message.text_message is None:
            raise ValueError("an RCS choice message needs text_message: RBM sends no bare chips")
        return {
            "text": check_text(message.text_message.text, "choice_message.text_message.text"),
            "suggestions": self.suggestions(
                message.choices, MAX_SUGGESTIONS, "choice_message.choices"
            ),
        }

    def card_content(self, card: CardMessage, field: str) -> dict[str, Any]:
        if not card.title and card.media_message is None:
            raise ValueError(f"{field}: an RCS card needs a title or media")
        content: dict[str, Any] = {}
        if card.title:
            content["title"] = truncate_label(card.title, CARD_TITLE_LIMIT)
        if card.description:
            if len(card.description) > CARD_DESCRIPTION_LIMIT:
                raise ValueError(
                    f"{field}.description has {len(card.description)} characters; "
                    f"the RCS limit is {CARD_DESCRIPTION_LIMIT}"
                )
            content["description"] = card.description
        if card.media_message is not None:
            if media_kind(card.media_message.url) in ("audio", "document"):
                raise ValueError(
                    f"{field}.media_message: an RCS card shows an image or a video, "
                    f"not {card.media_message.url!r}"
                )
            height = card.height
            if height in (None, CardHeight.UNSPECIFIED_HEIGHT):
                height = CardHeight.MEDIUM
            content["media"] = {
                "height": str(height),
                "contentInfo": _content_info(card.media_message),
            }
        if card.choices:
            content["suggestions"] = self.suggestions(
                card.choices, MAX_CARD_SUGGESTIONS, f"{field}.choices"
            )
        return content

    def carousel(self, carousel: CarouselMessage) -> dict[str, Any]:
        count = len(carousel.cards)
        if count > MAX_CAROUSEL_CARDS:
            raise ValueError(
                f"carousel_message has {count} cards; RCS carousels hold at most "
                f"{MAX_CAROUSEL_CARDS}"
            )
        cards = [
            self.card_content(card, f"carousel_message.cards[{index}]")
            for index, card in enumerate(carousel.cards)
        ]
        if count < MIN_CAROUSEL_CARDS:
            content: dict[str, Any] = {"richCard": {"standaloneCard": _standalone(cards[0])}}
        else:
            content = {"richCard": {"carouselCard": {"cardWidth": "MEDIUM", "cardContents": cards}}}
        if carousel.choices:
            content["suggestions"] = self.suggestions(
                carousel.choices, MAX_SUGGESTIONS, "carousel_message.choices"
            )
        return content

    def location(self, location: LocationMessage) -> dict[str, Any]:
        text = "\n".join(part for part in (location.title, location.label) if part)
        if not text:
            latitude = format_coordinate(location.coordinates.latitude)
            longitude = format_coordinate(location.coordinates.longitude)
            text = f"https://maps.google.com/?q={latitude},{longitude}"
        suggestion = {
            "action": {
                "text": VIEW_LOCATION,
                "postbackData": self.postback(None, VIEW_LOCATION, "location_message"),
                "viewLocationAction": _view_location(location),
            }
        }
        return {"text": check_text(text, "location_message"), "suggestions": [suggestion]}

    def list_message(self, message: ListMessage) -> dict[str, Any]:
        text = render_sms(AppMessage(list_message=message)).body
        content: dict[str, Any] = {"text": check_text(text, "list_message")}
        items = [
            item.choice
            for section in message.sections
            for item in section.items
            if item.choice is not None
        ]
        if items and len(items) <= MAX_SUGGESTIONS:
            content["suggestions"] = [
                {
                    "reply": {
                        "text": truncate_label(item.title, SUGGESTION_TEXT_LIMIT),
                        "postbackData": self.postback(
                            item.postback_data, item.title, "list_message"
                        ),
                    }
                }
                for item in items
            ]
        return content

    # --- suggestions -----------------------------------------------------------------------

    def suggestions(self, choices: Sequence[Choice], limit: int, field: str) -> list[dict]:
        if len(choices) > limit:
            raise ValueError(f"{field} has {len(choices)} choices; RCS allows at most {limit} here")
        return [self.suggestion(choice, f"{field}[{i}]") for i, choice in enumerate(choices)]

    def suggestion(self, choice: Choice, field: str) -> dict[str, Any]:
        label = choice.label
        text = truncate_label(label, SUGGESTION_TEXT_LIMIT)
        postback = self.postback(choice.postback_data, label, field)
        action = choice.chosen
        match action:
            case TextMessage():
                return {"reply": {"text": text, "postbackData": postback}}
            case UrlMessage():
                detail: dict[str, Any] = {"openUrlAction": {"url": action.url}}
            case CallMessage():
                detail = {"dialAction": {"phoneNumber": _e164(action.phone_number)}}
            case LocationMessage():
                detail = {"viewLocationAction": _view_location(action)}
            case CalendarMessage():
                event = {
                    "startTime": action.event_start,
                    "endTime": action.event_end,
                    "title": action.event_title,
                }
                if action.event_description:
                    event["description"] = action.event_description
                detail = {
                    "fallbackUrl": action.fallback_url,
                    "createCalendarEventAction": event,
                }
            case ShareLocationMessage():
                detail = {"fallbackUrl": action.fallback_url, "shareLocationAction": {}}
            case _:
                raise AssertionError(f"unhandled choice kind {choice.chosen_key}")
        return {"action": {"text": text, "postbackData": postback, **detail}}

    def postback(self, postback_data: str | None, label: str, field: str) -> str:
        """`{message id}|{postback_data or message id_label}`; the choice is remembered."""
        reported = postback_data or f"{self.message_id}_{label}"
        self.options.append(ReplyOption(len(self.options) + 1, label, postback_data))
        encoded = f"{self.message_id}{POSTBACK_SEPARATOR}{reported}"
        if len(encoded) > POSTBACK_LIMIT:
            raise ValueError(
                f"{field}.postback_data is too long: RCS postbackData holds {POSTBACK_LIMIT} "
                f"characters, including the message id"
            )
        return encoded


def _content_info(media: MediaMessage) -> dict[str, Any]:
    info = {"fileUrl": media.url}
    if media.thumbnail_url:
        info["thumbnailUrl"] = media.thumbnail_url
    return info


def _standalone(card: dict[str, Any]) -> dict[str, Any]:
    return {"cardOrientation": "VERTICAL", "cardContent": card}


def _view_location(location: LocationMessage) -> dict[str, Any]:
    return {
        "latLong": {
            "latitude": location.coordinates.latitude,
            "longitude": location.coordinates.longitude,
        },
        "label": location.label or location.title,
    }


def _e164(phone_number: str) -> str:
    return "+" + re.sub(r"[^0-9]", "", phone_number)
