"""Generic message → the chorus-owned VIBERBM native body (CHANNELS.md part 2 §2.3, §2.4).

Viber Business Messages has no public API, so the native JSON is chorus's own (Decision 8):
`{client_ref, receiver, message_class, ttl, type, …}` with `type` one of `text`, `image`,
`video`, `file`, `card`. Native where the channel has it — text, jpg/png images, videos with a
thumbnail, listed document types, a card of one image and at most one action button, a text
with one action button — and the SMS rendering (part 1 §1.4) as a `type: text` otherwise, its
numbered options remembered so that a typed reply "2" maps back to its choice.

Bodies over 1000 characters fail (ValueError → BAD_REQUEST, Decision 5); button captions are
cut to 30 characters with a final "…". `message_class` and `ttl` are the transcoder's
defaults; the connector sets them from the send (session, content type, ttl) unless an
explicit message gave them.
"""

import json
from dataclasses import dataclass, field
from posixpath import basename
from typing import Any
from urllib.parse import unquote, urlsplit

from chorus.channels.base import ReplyOption, Transcoded
from chorus.channels.sms.transcode import TemplateNotResolved, render_sms
from chorus.wire.enums import Channel
from chorus.wire.messages import (
    AppMessage,
    CallMessage,
    CardMessage,
    Choice,
    ChoiceMessage,
    LocationMessage,
    MediaMessage,
    MessageContent,
    TextMessage,
    UrlMessage,
)

TEXT_LIMIT = 1000
CAPTION_LIMIT = 30
THUMBNAIL_URL_LIMIT = 1000
DEFAULT_TTL = 86400
MIN_TTL = 30
MAX_TTL = 1209600
TRANSACTIONAL = "transactional"

IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png"})
DOCUMENT_EXTENSIONS = frozenset(
    {"doc", "docx", "rtf", "dot", "dotx", "odt", "odf", "fodt", "txt", "info", "pdf", "xps"}
    | {"pdax", "eps", "xls", "xlsx", "ods", "fods", "csv", "xlsm", "xltx"}
)
# Part 2's "media kind from URL" convention.
_IMAGE_KIND = frozenset({"jpg", "jpeg", "png", "gif", "webp", "bmp"})
_VIDEO_KIND = frozenset({"mp4", "mov", "m4v", "3gp", "webm", "avi"})
_AUDIO_KIND = frozenset({"mp3", "m4a", "aac", "ogg", "oga", "opus", "wav", "amr"})

# Fields of the body chorus always sets itself, even over an explicit message.
ADDRESS_FIELDS = ("client_ref", "receiver")


@dataclass(frozen=True)
class ViberBmTranscoded(Transcoded):
    """A VIBERBM body, with the fields an explicit message fixed (which the connector then
    leaves alone: `message_class`, `ttl`)."""

    fixed: frozenset[str] = field(default_factory=frozenset)


def url_extension(url: str) -> str:
    """The URL path's extension, case-folded, query ignored ("" when there is none)."""
    name = basename(urlsplit(url).path)
    return name.rpartition(".")[2].casefold() if "." in name else ""


def media_kind(url: str) -> str:
    """image | video | audio | document, by the URL's extension (part 2 conventions)."""
    extension = url_extension(url)
    if extension in _IMAGE_KIND:
        return "image"
    if extension in _VIDEO_KIND:
        return "video"
    if extension in _AUDIO_KIND:
        return "audio"
    return "document"


def truncate_label(label: str, limit: int = CAPTION_LIMIT) -> str:
    """A label cut to `limit` characters, the last kept one replaced by "…" (Decision 5)."""
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def transcode_viberbm(
    message: AppMessage, *, message_id: str, recipient: str | None = None
) -> ViberBmTranscoded:
    """The native body of `message` (precedence of CHANNELS.md §7.2: explicit_channel_message,
    channel_specific_message — none exists for VIBERBM, so it is ignored —,
    explicit_channel_omni_message, then the generic content)."""
    head: dict[str, Any] = {"client_ref": message_id}
    if recipient:
        head["receiver"] = recipient
    head.update({"message_class": TRANSACTIONAL, "ttl": DEFAULT_TTL})
    explicit = (message.explicit_channel_message or {}).get(Channel.VIBERBM)
    if explicit is not None:
        given = _explicit_body(explicit)
        return ViberBmTranscoded(native={**head, **given}, fixed=frozenset(given))
    override = (message.explicit_channel_omni_message or {}).get(Channel.VIBERBM)
    source = override if override is not None else message
    body, options = _content(source.content_kind, source.content)
    return ViberBmTranscoded(native={**head, **body}, options=options)


def _explicit_body(payload: str) -> dict[str, Any]:
    try:
        given = json.loads(payload)
    except ValueError:
        raise ValueError("explicit_channel_message.VIBERBM is not valid JSON") from None
    if not isinstance(given, dict):
        raise ValueError("explicit_channel_message.VIBERBM must be a JSON object")
    return {key: value for key, value in given.items() if key not in ADDRESS_FIELDS}


def _content(kind: str, content: MessageContent) -> tuple[dict[str, Any], list[ReplyOption]]:
    match content:
        case TextMessage():
            return _text(content.text), []
        case MediaMessage():
            return _media(content), []
        case ChoiceMessage():
            action = _single_action(content.choices)
            if action is not None:
                prompt = content.text_message.text if content.text_message else action.label
                return {**_text(prompt), "button": _button(action)}, []
        case CardMessage():
            card = _native_card(content)
            if card is not None:
                return card, []
    if kind in ("template_message", "template_reference"):
        raise TemplateNotResolved(
            f"{kind} must be resolved to the template's content before it is transcoded"
        )
    return _degraded(kind, content)


def _text(text: str, field_name: str = "text") -> dict[str, Any]:
    if len(text) > TEXT_LIMIT:
        raise ValueError(
            f"the VIBERBM {field_name} has {len(text)} characters; the limit is {TEXT_LIMIT}"
        )
    return {"type": "text", "text": text}


def _media(media: MediaMessage) -> dict[str, Any]:
    kind, extension = media_kind(media.url), url_extension(media.url)
    if kind == "image" and extension in IMAGE_EXTENSIONS:
        return {"type": "image", "image_url": media.url}
    if kind == "video" and media.thumbnail_url:
        if len(media.thumbnail_url) > THUMBNAIL_URL_LIMIT:
            raise ValueError(
                f"the VIBERBM video thumbnail_url has {len(media.thumbnail_url)} characters; "
                f"the limit is {THUMBNAIL_URL_LIMIT}"
            )
        return {"type": "video", "video": {"url": media.url, "thumbnail_url": media.thumbnail_url}}
    if kind == "document" and extension in DOCUMENT_EXTENSIONS:
        name = media.filename_override or unquote(basename(urlsplit(media.url).path))
        return {"type": "file", "file": {"url": media.url, "name": name}}
    # Audio, gif/webp/bmp, unlisted documents, a video without a thumbnail: a link.
    return _text(media.url)


def _single_action(choices: list[Choice] | None) -> Choice | None:
    """The one choice of a list that holds exactly one url/call/location choice."""
    if choices and len(choices) == 1:
        action = choices[0].chosen
        if isinstance(action, UrlMessage | CallMessage | LocationMessage):
            return choices[0]
    return None


def _button(choice: Choice) -> dict[str, Any]:
    action = choice.chosen
    caption = truncate_label(choice.label)
    match action:
        case UrlMessage():
            return {"caption": caption, "action": "open_url", "url": action.url}
        case CallMessage():
            phone = action.phone_number.strip()
            return {
                "caption": caption,
                "action": "call",
                "phone_number": phone if phone.startswith("+") else f"+{phone}",
            }
        case LocationMessage():
            return {
                "caption": caption,
                "action": "location",
                "location": {
                    "lat": action.coordinates.latitude,
                    "lon": action.coordinates.longitude,
                },
            }
    raise AssertionError(f"{choice.chosen_key} is not an action choice")


def _native_card(card: CardMessage) -> dict[str, Any] | None:
    """A card of an image and at most one action button, or None when it must degrade."""
    media = card.media_message
    if media is None or url_extension(media.url) not in IMAGE_EXTENSIONS:
        return None
    action = _single_action(card.choices)
    if card.choices and action is None:
        return None
    text = "\n".join(part for part in (card.title, card.description) if part)
    body: dict[str, Any] = {"type": "card"}
    if text:
        body.update(_text(text))
        body["type"] = "card"
    body["image_url"] = media.url
    if action is not None:
        body["button"] = _button(action)
    return body


def _degraded(kind: str, content: MessageContent) -> tuple[dict[str, Any], list[ReplyOption]]:
    """The SMS rendering as a `type: text`, with its numbered options."""
    rendering = render_sms(AppMessage(**{kind: content}))
    options = [ReplyOption(o.number, o.label, o.postback_data) for o in rendering.options]
    return _text(rendering.body), options
