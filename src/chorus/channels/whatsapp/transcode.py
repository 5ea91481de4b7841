"""Generic message → WhatsApp Cloud API body (CHANNELS.md part 1 §2.4, §7.2).

Every body has the envelope `{"messaging_product": "whatsapp", "recipient_type": "individual",
"to", "type", <type>: {...}}`. Rich types go out natively where the Cloud API has them
(interactive `button` / `list` / `cta_url` / `product_list`, `location`, `contacts`, media by
kind); everything else falls back to the SMS rendering of part 1 §1.4 as a `text` (or as a
media caption), whose numbered options a typed reply can name.

Labels (button, row and section titles, row descriptions, the list button, `cta_url` display
text) are truncated to their limit, the last kept character replaced by "…". A body over its
limit degrades where the table says so, otherwise raises ValueError (the pipeline reports
BAD_REQUEST; Decision 5). Header and footer text are not labels: over 60 they fail too.
"""

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from chorus.channels.base import ReplyOption, Transcoded
from chorus.channels.sms.transcode import TemplateNotResolved, render_sms
from chorus.channels.whatsapp.templates import template_object
from chorus.wire.enums import Channel
from chorus.wire.messages import (
    AppMessage,
    CardMessage,
    CarouselMessage,
    ChannelSpecificMessageType,
    Choice,
    ChoiceMessage,
    ContactInfoMessage,
    ListMessage,
    LocationMessage,
    MediaMessage,
    MessageContent,
    TemplateMessage,
    TextMessage,
    UrlMessage,
)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
INTERACTIVE_BODY_LIMIT = 1024
HEADER_TEXT_LIMIT = 60
FOOTER_LIMIT = 60
MAX_BUTTONS = 3
BUTTON_TITLE_LIMIT = 20
BUTTON_ID_LIMIT = 256
LIST_BUTTON_LIMIT = 20
MAX_LIST_ROWS = 10
MAX_LIST_SECTIONS = 10
SECTION_TITLE_LIMIT = 24
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
ROW_ID_LIMIT = 200
CTA_TEXT_LIMIT = 20
MAX_PRODUCTS = 30
DEFAULT_LIST_BUTTON = "Choose"

# Media kind by the URL path's extension (§2.4); anything else is a document.
IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png"})
VIDEO_EXTENSIONS = frozenset({"mp4", "3gp", "3gpp"})
AUDIO_EXTENSIONS = frozenset({"aac", "amr", "mp3", "mpeg", "m4a", "ogg", "oga", "opus"})
STICKER_EXTENSIONS = frozenset({"webp"})
MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
CAPTIONED_KINDS = frozenset({"image", "video", "document"})

# channel_specific_message types the Cloud API carries, and their interactive type.
SPECIFIC_TYPES = {
    ChannelSpecificMessageType.FLOWS: "flow",
    ChannelSpecificMessageType.ORDER_DETAILS: "order_details",
    ChannelSpecificMessageType.ORDER_STATUS: "order_status",
}


def truncate(label: str, limit: int) -> str:
    """A label cut to `limit` code points, the last kept one replaced by "…"."""
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def within(text: str, limit: int, what: str) -> str:
    """A text that is not a label, as it is; over `limit` code points the send fails."""
    if len(text) > limit:
        raise ValueError(f"the WhatsApp {what} has {len(text)} characters; the limit is {limit}")
    return text


def media_kind(url: str) -> str:
    path = urlsplit(url).path
    name = path.rsplit("/", 1)[-1]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in IMAGE_EXTENSIONS:
        return "image"
    if extension in VIDEO_EXTENSIONS:
        return "video"
    if extension in AUDIO_EXTENSIONS:
        return "audio"
    if extension in STICKER_EXTENSIONS:
        return "sticker"
    return "document"


def url_filename(url: str) -> str | None:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return name or None


def choice_id(choice_postback: str | None, label: str, message_id: str, limit: int) -> str:
    """The native id of a choice: its postback_data, or `{message_id}_{label}` (Decision 3)."""
    if choice_postback is not None:
        if len(choice_postback) > limit:
            raise ValueError(
                f"postback_data {choice_postback[:40]!r}… has {len(choice_postback)} characters; "
                f"WhatsApp ids hold at most {limit}"
            )
        return choice_postback
    return f"{message_id}_{label}"[:limit]


def envelope(kind: str, body: Any, recipient: str | None) -> dict[str, Any]:
    native: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
    if recipient:
        native["to"] = recipient
    native["type"] = kind
    native[kind] = body
    return native


def transcode_whatsapp(
    message: AppMessage, *, message_id: str, recipient: str | None = None
) -> Transcoded:
    """The Cloud API body of `message`, with the options a typed or tapped reply can name.

    Precedence (§7.2): `explicit_channel_message`, a usable `channel_specific_message`,
    `explicit_channel_omni_message`, then the generic content."""
    explicit = (message.explicit_channel_message or {}).get(Channel.WHATSAPP)
    if explicit is not None:
        return Transcoded(native=explicit_body(explicit, recipient))
    specific = (message.channel_specific_message or {}).get(Channel.WHATSAPP)
    if specific is not None and specific.message_type in SPECIFIC_TYPES:
        kind = SPECIFIC_TYPES[specific.message_type]
        return Transcoded(
            native=envelope("interactive", specific_interactive(kind, specific.message), recipient)
        )
    override = (message.explicit_channel_omni_message or {}).get(Channel.WHATSAPP)
    source = override if override is not None else message
    builder = _Builder(message_id, recipient)
    native = builder.content(source.content_kind, source.content)
    return Transcoded(native=native, options=builder.options)


def explicit_body(payload: str, recipient: str | None) -> dict[str, Any]:
    try:
        body = json.loads(payload)
    except ValueError:
        raise ValueError("explicit_channel_message.WHATSAPP is not valid JSON") from None
    if not isinstance(body, dict):
        raise ValueError(
            "explicit_channel_message.WHATSAPP must be a JSON object (a Cloud API body)"
        )
    body["messaging_product"] = "whatsapp"
    if recipient:
        body["to"] = recipient
    return body


def specific_interactive(kind: str, message: dict[str, Any]) -> dict[str, Any]:
    """`channel_specific_message` FLOWS / ORDER_DETAILS / ORDER_STATUS as Cloud API
    interactive objects (API.md Part B §1.12 field names → Cloud API names)."""
    interactive: dict[str, Any] = {"type": kind}
    for part in ("header", "body", "footer"):
        if isinstance(message.get(part), dict):
            interactive[part] = message[part]
    if kind == "flow":
        parameters: dict[str, Any] = {"flow_message_version": "3"}
        for source, target in (
            ("flow_token", "flow_token"),
            ("flow_id", "flow_id"),
            ("flow_cta", "flow_cta"),
            ("flow_action", "flow_action"),
            ("flow_action_payload", "flow_action_payload"),
            ("flow_mode", "mode"),
        ):
            if message.get(source) is not None:
                parameters[target] = message[source]
        interactive["action"] = {"name": "flow", "parameters": parameters}
    elif kind == "order_details":
        payment = message.get("payment")
        interactive["action"] = {
            "name": "review_and_pay",
            "parameters": order_details(payment if isinstance(payment, dict) else {}),
        }
    else:
        interactive["action"] = {"name": "review_order", "parameters": message.get("payment", {})}
    return interactive


# The Cloud API's amounts are {value, offset}: value / offset is the amount in BRL. The
# Conversation API's `*_value` fields are in centavos.
_CENTAVOS = 100
# payment_buttons[].type → the key of its settings in the Cloud API's payment_settings.
_PAYMENT_SETTINGS = ("pix_dynamic_code", "payment_link", "boleto")


def order_details(payment: dict[str, Any]) -> dict[str, Any]:
    """ORDER_DETAILS's `payment` (the Conversation API's names) as the Cloud API's
    `review_and_pay` parameters (Payments API, Brazil: the only market it serves, so BRL)."""
    parameters: dict[str, Any] = {"reference_id": payment.get("reference_id")}
    if payment.get("type_of_goods") is not None:
        parameters["type"] = payment["type_of_goods"]
    parameters["payment_type"] = payment.get("type") or "br"
    settings = [_payment_setting(button) for button in payment.get("payment_buttons") or []]
    pix = (payment.get("payment_settings") or {}).get("dynamic_pix")
    if isinstance(pix, dict) and not settings:  # the older form of the Pix button
        settings = [{"type": "pix_dynamic_code", "pix_dynamic_code": pix}]
    if settings:
        parameters["payment_settings"] = settings
    parameters["currency"] = "BRL"
    parameters["total_amount"] = _amount(payment.get("total_amount_value"))
    order = payment.get("order")
    if isinstance(order, dict):
        parameters["order"] = _order(order)
    return {key: value for key, value in parameters.items() if value is not None}


def _payment_setting(button: Any) -> dict[str, Any]:
    if not isinstance(button, dict) or button.get("type") not in _PAYMENT_SETTINGS:
        return button  # not one the Cloud API names here: passed on for it to judge
    kind = button["type"]
    return {"type": kind, kind: {k: v for k, v in button.items() if k != "type"}}


def _amount(value: Any, description: Any = None) -> dict[str, Any] | None:
    if value is None:
        return None
    amount = {"value": value, "offset": _CENTAVOS}
    if description is not None:
        amount["description"] = description
    return amount


def _order(order: dict[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = {"status": "pending"}  # an order_details order always starts so
    if order.get("catalog_id") is not None:
        shaped["catalog_id"] = order["catalog_id"]
    if order.get("expiration_time") is not None:
        shaped["expiration"] = {"timestamp": order["expiration_time"]}
        if order.get("expiration_description") is not None:
            shaped["expiration"]["description"] = order["expiration_description"]
    shaped["items"] = [_item(item) for item in order.get("items") or [] if isinstance(item, dict)]
    for name in ("subtotal", "tax", "shipping", "discount"):
        amount = _amount(order.get(f"{name}_value"), order.get(f"{name}_description"))
        if amount is not None:
            shaped[name] = amount
    if "discount" in shaped and order.get("discount_program_name") is not None:
        shaped["discount"]["discount_program_name"] = order["discount_program_name"]
    return {key: value for key, value in shaped.items() if value is not None}


def _item(item: dict[str, Any]) -> dict[str, Any]:
    shaped = {
        "retailer_id": item.get("retailer_id"),
        "name": item.get("name"),
        "amount": _amount(item.get("amount_value")),
        "quantity": item.get("quantity"),
        "sale_amount": _amount(item.get("sale_amount_value")),
    }
    return {key: value for key, value in shaped.items() if value is not None}


def _reply_only(choices: Sequence[Choice]) -> bool:
    return all(isinstance(c.chosen, TextMessage) for c in choices)


class _Builder:
    def __init__(self, message_id: str, recipient: str | None) -> None:
        self.message_id = message_id
        self.recipient = recipient
        self.options: list[ReplyOption] = []

    # --- dispatch on the content kind --------------------------------------------------

    def content(self, kind: str, content: MessageContent) -> dict[str, Any]:
        match content:
            case TextMessage():
                return self.text(content.text)
            case MediaMessage():
                return self.media(content)
            case ChoiceMessage():
                return self.choice(content)
            case CardMessage():
                return self.card(content)
            case CarouselMessage():
                return self.numbered(AppMessage(carousel_message=content))
            case LocationMessage():
                return self.location(content)
            case ContactInfoMessage():
                return envelope("contacts", [contact_card(content)], self.recipient)
            case ListMessage():
                return self.list(content)
            case TemplateMessage() if Channel.WHATSAPP in (content.channel_template or {}):
                reference = (content.channel_template or {})[Channel.WHATSAPP]
                return envelope("template", template_object(reference), self.recipient)
        raise TemplateNotResolved(
            f"{kind} must be resolved to the template's content before it is transcoded for "
            "WHATSAPP"
        )

    # --- plain kinds -----------------------------------------------------------------

    def text(self, text: str) -> dict[str, Any]:
        if len(text) > TEXT_LIMIT:
            raise ValueError(
                f"the WhatsApp text body has {len(text)} characters; the limit is {TEXT_LIMIT}"
            )
        body: dict[str, Any] = {"body": text}
        if "http://" in text or "https://" in text:
            body["preview_url"] = True
        return envelope("text", body, self.recipient)

    def media(self, media: MediaMessage, caption: str | None = None) -> dict[str, Any]:
        kind = media_kind(media.url)
        body: dict[str, Any] = {"link": media.url}
        if caption:
            body["caption"] = caption
        if kind == "document":
            filename = media.filename_override or url_filename(media.url)
            if filename:
                body["filename"] = filename
        return envelope(kind, body, self.recipient)

    def location(self, location: LocationMessage) -> dict[str, Any]:
        body: dict[str, Any] = {
            "latitude": location.coordinates.latitude,
            "longitude": location.coordinates.longitude,
        }
        if location.title:
            body["name"] = location.title
        if location.label:
            body["address"] = location.label
        return envelope("location", body, self.recipient)

    def numbered(self, message: AppMessage, media: MediaMessage | None = None) -> dict[str, Any]:
        """The SMS rendering as a `text`, or as the caption of `media` when it fits."""
        rendering = render_sms(message)
        self.options = [ReplyOption(o.number, o.label, o.postback_data) for o in rendering.options]
        if media is not None:
            if media_kind(media.url) in CAPTIONED_KINDS and len(rendering.body) <= CAPTION_LIMIT:
                return self.media(media, caption=rendering.body)
            body = "\n".join(part for part in (rendering.body, media.url) if part)
            return self.text(body)
        return self.text(rendering.body)

    # --- choices and cards -------------------------------------------------------------

    def _remember(self, choices: Sequence[Choice]) -> None:
        self.options = [
            ReplyOption(number, choice.label, choice.postback_data)
            for number, choice in enumerate(choices, start=1)
        ]

    def _buttons(self, choices: Sequence[Choice]) -> dict[str, Any]:
        return {
            "buttons": [
                {
                    "type": "reply",
                    "reply": {
                        "id": choice_id(c.postback_data, c.label, self.message_id, BUTTON_ID_LIMIT),
                        "title": truncate(c.label, BUTTON_TITLE_LIMIT),
                    },
                }
                for c in choices
            ]
        }

    def _interactive(
        self,
        kind: str,
        body_text: str | None,
        action: dict[str, Any],
        *,
        header: dict[str, Any] | None = None,
        footer: str | None = None,
    ) -> dict[str, Any]:
        interactive: dict[str, Any] = {"type": kind}
        if header is not None:
            interactive["header"] = header
        if body_text:
            interactive["body"] = {"text": body_text}
        if footer:
            interactive["footer"] = {"text": within(footer, FOOTER_LIMIT, "whatsapp_footer")}
        interactive["action"] = action
        return envelope("interactive", interactive, self.recipient)

    def choice(self, message: ChoiceMessage) -> dict[str, Any]:
        choices = message.choices
        prompt = message.text_message.text if message.text_message else None
        footer = message.message_properties.whatsapp_footer if message.message_properties else None
        fits = prompt is not None and len(prompt) <= INTERACTIVE_BODY_LIMIT
        if fits and _reply_only(choices):
            self._remember(choices)
            short = all(len(c.label) <= BUTTON_TITLE_LIMIT for c in choices)
            if len(choices) <= MAX_BUTTONS and short:
                return self._interactive("button", prompt, self._buttons(choices), footer=footer)
            rows = [
                {
                    "id": choice_id(c.postback_data, c.label, self.message_id, ROW_ID_LIMIT),
                    "title": truncate(c.label, ROW_TITLE_LIMIT),
                }
                for c in choices
            ]
            action = {"button": DEFAULT_LIST_BUTTON, "sections": [{"rows": rows}]}
            return self._interactive("list", prompt, action, footer=footer)
        if fits and len(choices) == 1 and isinstance(choices[0].chosen, UrlMessage):
            return self._interactive(
                "cta_url", prompt, cta_action(choices[0].chosen), footer=footer
            )
        return self.numbered(AppMessage(choice_message=message))

    def card(self, card: CardMessage) -> dict[str, Any]:
        choices = card.choices or []
        body_text = "\n".join(
            part for part in (f"*{card.title}*" if card.title else None, card.description) if part
        )
        fits = bool(body_text) and len(body_text) <= INTERACTIVE_BODY_LIMIT
        header = self._card_header(card)
        footer = getattr(card.message_properties, "whatsapp_footer", None)
        if fits and choices and _reply_only(choices) and len(choices) <= MAX_BUTTONS:
            self._remember(choices)
            return self._interactive(
                "button", body_text, self._buttons(choices), header=header, footer=footer
            )
        if fits and len(choices) == 1 and isinstance(choices[0].chosen, UrlMessage):
            return self._interactive(
                "cta_url", body_text, cta_action(choices[0].chosen), header=header, footer=footer
            )
        # The SMS rendering without the media line: the media carries the caption.
        without_media = card.model_copy(update={"media_message": None})
        return self.numbered(_card_only(without_media), media=card.media_message)

    def _card_header(self, card: CardMessage) -> dict[str, Any] | None:
        if card.media_message is not None:
            kind = media_kind(card.media_message.url)
            if kind not in ("image", "video"):
                kind = "document"
            return {"type": kind, kind: {"link": card.media_message.url}}
        header = card.message_properties.whatsapp_header if card.message_properties else None
        if header:
            return {"type": "text", "text": within(header, HEADER_TEXT_LIMIT, "whatsapp_header")}
        return None

    # --- lists -----------------------------------------------------------------------

    def list(self, message: ListMessage) -> dict[str, Any]:
        properties = message.message_properties
        items = [item for section in message.sections for item in section.items]
        body_text = message.description or message.title
        if len(body_text) > INTERACTIVE_BODY_LIMIT:
            raise ValueError(
                f"the WhatsApp list body has {len(body_text)} characters; the limit is "
                f"{INTERACTIVE_BODY_LIMIT}"
            )
        if items and items[0].product is not None:
            return self._products(message, body_text)
        if len(items) > MAX_LIST_ROWS:
            raise ValueError(
                f"a WhatsApp list holds at most {MAX_LIST_ROWS} rows; got {len(items)}"
            )
        header_text = within(
            (properties.whatsapp_header if properties else None) or message.title,
            HEADER_TEXT_LIMIT,
            "the list header (whatsapp_header, else title)",
        )
        sections = []
        number = 0
        options: list[ReplyOption] = []
        for section in message.sections:
            rows = []
            for item in section.items:
                choice = item.choice
                assert choice is not None
                number += 1
                options.append(ReplyOption(number, choice.title, choice.postback_data))
                row: dict[str, Any] = {
                    "id": choice_id(
                        choice.postback_data, choice.title, self.message_id, ROW_ID_LIMIT
                    ),
                    "title": truncate(choice.title, ROW_TITLE_LIMIT),
                }
                if choice.description:
                    row["description"] = truncate(choice.description, ROW_DESCRIPTION_LIMIT)
                rows.append(row)
            entry: dict[str, Any] = {}
            if section.title:
                entry["title"] = truncate(section.title, SECTION_TITLE_LIMIT)
            elif len(message.sections) > 1:
                # The Cloud API refuses it (a title is required once there are several).
                raise ValueError(
                    f"list_message.sections[{len(sections)}] has no title; a WhatsApp list "
                    "with several sections needs one on each"
                )
            entry["rows"] = rows
            sections.append(entry)
        self.options = options
        menu = (properties.menu if properties else None) or DEFAULT_LIST_BUTTON
        action = {"button": truncate(menu, LIST_BUTTON_LIMIT), "sections": sections}
        return self._interactive(
            "list",
            body_text,
            action,
            header={"type": "text", "text": header_text},
            footer=getattr(properties, "whatsapp_footer", None),
        )

    def _products(self, message: ListMessage, body_text: str) -> dict[str, Any]:
        properties = message.message_properties
        catalog_id = properties.catalog_id if properties else None
        if not catalog_id:
            raise ValueError("a WhatsApp product list needs message_properties.catalog_id")
        products = [
            item.product for section in message.sections for item in section.items if item.product
        ]
        if len(products) > MAX_PRODUCTS:
            raise ValueError(
                f"a WhatsApp product list holds at most {MAX_PRODUCTS} products; got "
                f"{len(products)}"
            )
        if len(products) == 1:
            action = {"catalog_id": catalog_id, "product_retailer_id": products[0].id}
            return self._interactive("product", message.description, action)
        sections = []
        for section in message.sections:
            entry: dict[str, Any] = {}
            entry["title"] = truncate(section.title or message.title, SECTION_TITLE_LIMIT)
            entry["product_items"] = [
                {"product_retailer_id": item.product.id} for item in section.items if item.product
            ]
            sections.append(entry)
        header_text = within(
            (properties.whatsapp_header if properties else None) or message.title,
            HEADER_TEXT_LIMIT,
            "the list header (whatsapp_header, else title)",
        )
        return self._interactive(
            "product_list",
            body_text,
            {"catalog_id": catalog_id, "sections": sections},
            header={"type": "text", "text": header_text},
        )


def _card_only(card: CardMessage) -> AppMessage:
    return AppMessage.model_construct(card_message=card)


def cta_action(url: UrlMessage) -> dict[str, Any]:
    return {
        "name": "cta_url",
        "parameters": {"display_text": truncate(url.title, CTA_TEXT_LIMIT), "url": url.url},
    }


def contact_card(contact: ContactInfoMessage) -> dict[str, Any]:
    """A `contacts[]` element (§2.4); absent fields stay absent."""
    name = contact.name
    formatted = name.full_name or " ".join(
        part
        for part in (name.prefix, name.first_name, name.middle_name, name.last_name, name.suffix)
        if part
    )
    card: dict[str, Any] = {
        "name": _present(
            formatted_name=formatted,
            first_name=name.first_name,
            last_name=name.last_name,
            middle_name=name.middle_name,
            prefix=name.prefix,
            suffix=name.suffix,
        ),
        "phones": [_present(phone=p.phone_number, type=p.type) for p in contact.phone_numbers],
    }
    if contact.email_addresses:
        card["emails"] = [
            _present(email=e.email_address, type=e.type) for e in contact.email_addresses
        ]
    if contact.addresses:
        card["addresses"] = [
            _present(
                city=a.city,
                state=a.state,
                zip=a.zip,
                country=a.country,
                country_code=a.country_code,
                type=a.type,
            )
            for a in contact.addresses
        ]
    if contact.organization:
        org = contact.organization
        card["org"] = _present(company=org.company, department=org.department, title=org.title)
    if contact.urls:
        card["urls"] = [_present(url=u.url, type=u.type) for u in contact.urls]
    if contact.birthday:
        card["birthday"] = contact.birthday
    return card


def _present(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None and value != ""}
