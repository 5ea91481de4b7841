"""Message payloads of the wire contract (API.md Part B §1).

`AppMessage` is what an app sends (the `message` of `messages:send`, the `app_message` of a
stored message and of `messages:transcode`); `ContactMessage` is what a contact sends back.
Request-time rules and limits live here as field constraints and validators, so a bad
request fails with a 400 naming the field path (`message.choice_message.choices[3]`).

Every model ignores unknown keys and serialises back to the wire with
`model_dump(mode="json", exclude_none=True)`: absent optional fields stay absent.
"""

import json
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from chorus.wire.enums import Channel
from chorus.wire.numbers import Float, Int

# ---------------------------------------------------------------------------------------------
# Shared plumbing


class WireModel(BaseModel):
    """Base of every wire model: unknown keys are ignored (API.md Part B conventions)."""

    model_config = ConfigDict(extra="ignore")


class OneOfModel(WireModel):
    """A model of which exactly one of the `ONE_OF` fields must be present.

    Presence is `is not None`, so an empty object such as `"composing_event": {}` counts.
    Subclasses may have further fields outside the oneof (modifiers such as `agent`).
    """

    ONE_OF: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        present = self._present()
        if not present:
            raise ValueError(f"exactly one of {', '.join(self.ONE_OF)} is required")
        if len(present) > 1:
            raise ValueError(
                f"only one of {', '.join(self.ONE_OF)} may be set; got {', '.join(present)}"
            )
        return self

    def _present(self) -> list[str]:
        return [key for key in self.ONE_OF if getattr(self, key) is not None]

    @property
    def chosen_key(self) -> str:
        """The oneof key that is present."""
        return self._present()[0]

    @property
    def chosen(self) -> Any:
        """The model (or value) held under the oneof key that is present."""
        return getattr(self, self.chosen_key)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError(f"must be an http or https URL, got {value!r}")
    return value


def _rfc3339(value: str) -> str:
    """Checks the timestamp but keeps the string as given, so it is replayed verbatim."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ValueError(
            f"must be an RFC 3339 timestamp with a time zone, such as 2023-10-01T10:00:00Z; "
            f"got {value!r}"
        )
    return value


NonEmptyStr = Annotated[str, Field(min_length=1)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
Rfc3339 = Annotated[str, AfterValidator(_rfc3339)]


def format_coordinate(value: float) -> str:
    """A coordinate as plain decimal text: 47.6279809, -2.8229159, 59 (never 1e-05)."""
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


# ---------------------------------------------------------------------------------------------
# Enumerations


class AgentType(StrEnum):
    UNKNOWN_AGENT_TYPE = "UNKNOWN_AGENT_TYPE"
    HUMAN = "HUMAN"
    BOT = "BOT"


class CardHeight(StrEnum):
    UNSPECIFIED_HEIGHT = "UNSPECIFIED_HEIGHT"
    SHORT = "SHORT"
    MEDIUM = "MEDIUM"
    TALL = "TALL"


class ChannelSpecificMessageType(StrEnum):
    FLOWS = "FLOWS"
    ORDER_DETAILS = "ORDER_DETAILS"
    ORDER_STATUS = "ORDER_STATUS"
    COMMERCE = "COMMERCE"
    CAROUSEL_COMMERCE = "CAROUSEL_COMMERCE"
    NOTIFICATION_MESSAGE_TEMPLATE = "NOTIFICATION_MESSAGE_TEMPLATE"


class ReasonCode(StrEnum):
    """Why a message or event failed (API.md Part B §3.6)."""

    UNKNOWN = "UNKNOWN"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    RATE_LIMITED = "RATE_LIMITED"
    RECIPIENT_INVALID_CHANNEL_IDENTITY = "RECIPIENT_INVALID_CHANNEL_IDENTITY"
    RECIPIENT_NOT_REACHABLE = "RECIPIENT_NOT_REACHABLE"
    RECIPIENT_NOT_OPTED_IN = "RECIPIENT_NOT_OPTED_IN"
    OUTSIDE_ALLOWED_SENDING_WINDOW = "OUTSIDE_ALLOWED_SENDING_WINDOW"
    CHANNEL_FAILURE = "CHANNEL_FAILURE"
    CHANNEL_BAD_CONFIGURATION = "CHANNEL_BAD_CONFIGURATION"
    CHANNEL_CONFIGURATION_MISSING = "CHANNEL_CONFIGURATION_MISSING"
    MEDIA_TYPE_UNSUPPORTED = "MEDIA_TYPE_UNSUPPORTED"
    MEDIA_TOO_LARGE = "MEDIA_TOO_LARGE"
    MEDIA_NOT_REACHABLE = "MEDIA_NOT_REACHABLE"
    NO_CHANNELS_LEFT = "NO_CHANNELS_LEFT"
    TEMPLATE_NOT_FOUND = "TEMPLATE_NOT_FOUND"
    TEMPLATE_INSUFFICIENT_PARAMETERS = "TEMPLATE_INSUFFICIENT_PARAMETERS"
    TEMPLATE_NON_EXISTING_LANGUAGE_OR_VERSION = "TEMPLATE_NON_EXISTING_LANGUAGE_OR_VERSION"
    DELIVERY_TIMED_OUT = "DELIVERY_TIMED_OUT"
    DELIVERY_REJECTED_DUE_TO_POLICY = "DELIVERY_REJECTED_DUE_TO_POLICY"
    CONTACT_NOT_FOUND = "CONTACT_NOT_FOUND"
    BAD_REQUEST = "BAD_REQUEST"
    UNKNOWN_APP = "UNKNOWN_APP"
    NO_CHANNEL_IDENTITY_FOR_CONTACT = "NO_CHANNEL_IDENTITY_FOR_CONTACT"
    CHANNEL_REJECT = "CHANNEL_REJECT"
    NO_PERMISSION = "NO_PERMISSION"
    NO_PROFILE_AVAILABLE = "NO_PROFILE_AVAILABLE"
    UNSUPPORTED_OPERATION = "UNSUPPORTED_OPERATION"
    INACTIVE_CREDENTIAL = "INACTIVE_CREDENTIAL"
    MESSAGE_EXPIRED = "MESSAGE_EXPIRED"
    MESSAGE_SPLIT_REQUIRED = "MESSAGE_SPLIT_REQUIRED"
    DELIVERY_REPORT_TIME_OUT = "DELIVERY_REPORT_TIME_OUT"


class ReasonSubCode(StrEnum):
    UNSPECIFIED_SUB_CODE = "UNSPECIFIED_SUB_CODE"
    ATTACHMENT_REJECTED = "ATTACHMENT_REJECTED"
    MEDIA_TYPE_UNDETERMINED = "MEDIA_TYPE_UNDETERMINED"
    INACTIVE_SENDER = "INACTIVE_SENDER"


class Reason(WireModel):
    """`reason` of failed reports and of inbound fallback messages (API.md Part B §3.6)."""

    code: ReasonCode
    description: str = ""
    sub_code: ReasonSubCode = ReasonSubCode.UNSPECIFIED_SUB_CODE
    channel_code: str | None = None


# Channels whose `explicit_channel_message` value is a JSON document: every channel with a
# section in CHANNELS.md except SMS (API.md Part B §1.1). Channels chorus has no connector for
# (KAKAOTALK, LINE, ...) keep their strings uninterpreted, as the reference examples send them.
JSON_PAYLOAD_CHANNELS = frozenset(
    {
        Channel.WHATSAPP,
        Channel.RCS,
        Channel.MESSENGER,
        Channel.VIBERBM,
        Channel.VIBER,
        Channel.MMS,
        Channel.INSTAGRAM,
        Channel.TELEGRAM,
    }
)


# ---------------------------------------------------------------------------------------------
# Content of app messages (§1.2–§1.10)


class TextMessage(WireModel):
    text: str = Field(min_length=1, max_length=4096)


class MediaMessage(WireModel):
    """`media_message` / `MediaProperties` (§1.3). Reachability is checked at dispatch."""

    url: HttpUrl
    thumbnail_url: str | None = None
    filename_override: str | None = None


class Coordinates(WireModel):
    latitude: Float = Field(ge=-90, le=90, allow_inf_nan=False)
    longitude: Float = Field(ge=-180, le=180, allow_inf_nan=False)


class LocationMessage(WireModel):
    coordinates: Coordinates
    title: str
    label: str | None = None


class UrlMessage(WireModel):
    title: NonEmptyStr
    url: NonEmptyStr


class CallMessage(WireModel):
    title: NonEmptyStr
    # E.164 per the docs, but the worked examples send digits without "+", so it is not checked.
    phone_number: NonEmptyStr


class CalendarMessage(WireModel):
    title: NonEmptyStr
    event_start: Rfc3339
    event_end: Rfc3339
    event_title: NonEmptyStr
    event_description: str | None = None
    fallback_url: NonEmptyStr


class ShareLocationMessage(WireModel):
    title: NonEmptyStr
    fallback_url: NonEmptyStr


class Choice(OneOfModel):
    """One option of a choice, card or carousel (§1.4)."""

    ONE_OF: ClassVar[tuple[str, ...]] = (
        "text_message",
        "url_message",
        "call_message",
        "location_message",
        "calendar_message",
        "share_location_message",
    )

    text_message: TextMessage | None = None
    url_message: UrlMessage | None = None
    call_message: CallMessage | None = None
    location_message: LocationMessage | None = None
    calendar_message: CalendarMessage | None = None
    share_location_message: ShareLocationMessage | None = None
    postback_data: str | None = None

    @property
    def label(self) -> str:
        """The text of a text choice, the title of any other kind (the default postback uses it)."""
        action = self.chosen
        return action.text if isinstance(action, TextMessage) else action.title


class ChoiceMessageProperties(WireModel):
    whatsapp_footer: str | None = None


class ChoiceMessage(WireModel):
    text_message: TextMessage | None = None
    choices: list[Choice] = Field(min_length=1, max_length=10)
    message_properties: ChoiceMessageProperties | None = None


class CardMessageProperties(WireModel):
    whatsapp_header: str | None = None


class CardMessage(WireModel):
    title: str | None = None
    description: str | None = None
    media_message: MediaMessage | None = None
    # Absent means UNSPECIFIED_HEIGHT; left None so an absent height stays absent on the wire.
    height: CardHeight | None = None
    choices: list[Choice] | None = Field(default=None, max_length=10)
    message_properties: CardMessageProperties | None = None

    @model_validator(mode="after")
    def _has_something_to_show(self) -> Self:
        if not (self.title or self.description or self.media_message is not None):
            raise ValueError("a card needs at least one of title, description or media_message")
        return self


MAX_CAROUSEL_CHOICES = 3  # outer, carousel-level choices (§1.6)


class CarouselMessage(WireModel):
    cards: list[CardMessage] = Field(min_length=1, max_length=10)
    choices: list[Choice] | None = Field(default=None, max_length=MAX_CAROUSEL_CHOICES)


class NameInfo(WireModel):
    full_name: NonEmptyStr
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    prefix: str | None = None
    suffix: str | None = None


class PhoneNumberInfo(WireModel):
    phone_number: NonEmptyStr
    type: str | None = None


class AddressInfo(WireModel):
    city: str | None = None
    country: str | None = None
    state: str | None = None
    zip: str | None = None
    type: str | None = None
    country_code: str | None = None


class EmailInfo(WireModel):
    email_address: NonEmptyStr
    type: str | None = None


class OrganizationInfo(WireModel):
    company: str | None = None
    department: str | None = None
    title: str | None = None


class UrlInfo(WireModel):
    url: NonEmptyStr
    type: str | None = None


class ContactInfoMessage(WireModel):
    name: NameInfo
    phone_numbers: list[PhoneNumberInfo] = Field(min_length=1)
    addresses: list[AddressInfo] | None = None
    email_addresses: list[EmailInfo] | None = None
    organization: OrganizationInfo | None = None
    urls: list[UrlInfo] | None = None
    birthday: str | None = None


class ListChoiceItem(WireModel):
    title: NonEmptyStr
    description: str | None = None
    media: MediaMessage | None = None
    postback_data: str | None = None


class ProductItem(WireModel):
    """A catalogue product: a list item (app side) or a selected product (contact side).

    `quantity`, `item_price` and `currency` are filled in inbound product responses only.
    `title` is not in API.md; CHANNELS.md's SMS rendering names it, so it is kept when given.
    """

    id: NonEmptyStr
    marketplace: NonEmptyStr
    quantity: Int | None = None
    item_price: Float | None = None
    currency: str | None = None
    title: str | None = None


class ListItem(OneOfModel):
    ONE_OF: ClassVar[tuple[str, ...]] = ("choice", "product")

    choice: ListChoiceItem | None = None
    product: ProductItem | None = None


class ListSection(WireModel):
    title: str | None = None
    items: list[ListItem] = Field(min_length=1)


class ListMessageProperties(WireModel):
    catalog_id: str | None = None
    menu: str | None = None
    whatsapp_header: str | None = None


MAX_LIST_CHOICES = 10
MAX_LIST_PRODUCTS = 30


class ListMessage(WireModel):
    title: NonEmptyStr
    description: str | None = None
    media: MediaMessage | None = None
    sections: list[ListSection] = Field(min_length=1, max_length=10)
    message_properties: ListMessageProperties | None = None

    @model_validator(mode="after")
    def _items_of_one_kind_within_limits(self) -> Self:
        items = [item for section in self.sections for item in section.items]
        kinds = {item.chosen_key for item in items}
        if len(kinds) > 1:
            raise ValueError("list items must be all choices or all products; this list mixes both")
        if "choice" in kinds and len(items) > MAX_LIST_CHOICES:
            raise ValueError(
                f"a list holds at most {MAX_LIST_CHOICES} choice items across all sections; "
                f"got {len(items)}"
            )
        if "product" in kinds:
            if len(items) > MAX_LIST_PRODUCTS:
                raise ValueError(
                    f"a list holds at most {MAX_LIST_PRODUCTS} products across all sections; "
                    f"got {len(items)}"
                )
            if not (self.message_properties and self.message_properties.catalog_id):
                raise ValueError(
                    "message_properties.catalog_id is required when the sections carry products"
                )
        return self


class TemplateReference(WireModel):
    """A reference to a template (§1.10). `version` is optional in `channel_template`."""

    template_id: NonEmptyStr
    version: str | None = None
    language_code: str | None = None
    parameters: dict[str, str] | None = None


class OmniTemplateReference(TemplateReference):
    """The `omni_template` of a template message: `version` is required ("latest" allowed)."""

    version: NonEmptyStr


class TemplateMessage(WireModel):
    omni_template: OmniTemplateReference | None = None
    channel_template: dict[Channel, TemplateReference] | None = None

    @model_validator(mode="after")
    def _references_a_template(self) -> Self:
        if self.omni_template is None and not self.channel_template:
            raise ValueError("a template message needs omni_template or channel_template")
        return self


# ---------------------------------------------------------------------------------------------
# Modifiers (§1.11–§1.13)


class ChannelSpecificMessage(WireModel):
    """A channel-only message; its `message` object is stored and replayed verbatim (§1.12)."""

    message_type: ChannelSpecificMessageType
    message: dict[str, Any]


class Agent(WireModel):
    display_name: str
    type: AgentType
    picture_url: str | None = None


# The generic content keys shared by AppMessage and OmniMessageOverride.
_CONTENT_KEYS = (
    "text_message",
    "media_message",
    "choice_message",
    "card_message",
    "carousel_message",
    "location_message",
    "contact_info_message",
    "list_message",
)

# Content models as a union, for code that handles "any generic content".
MessageContent = (
    TextMessage
    | MediaMessage
    | ChoiceMessage
    | CardMessage
    | CarouselMessage
    | LocationMessage
    | ContactInfoMessage
    | ListMessage
    | TemplateMessage
    | TemplateReference
)


class _GenericContent(OneOfModel):
    text_message: TextMessage | None = None
    media_message: MediaMessage | None = None
    choice_message: ChoiceMessage | None = None
    card_message: CardMessage | None = None
    carousel_message: CarouselMessage | None = None
    location_message: LocationMessage | None = None
    contact_info_message: ContactInfoMessage | None = None
    list_message: ListMessage | None = None

    @property
    def content_kind(self) -> str:
        """The content key present, e.g. `"choice_message"`."""
        return self.chosen_key

    @property
    def content(self) -> MessageContent:
        """The content model held under `content_kind`."""
        return self.chosen


class OmniMessageOverride(_GenericContent):
    """A value of `explicit_channel_omni_message`: another generic message for one channel,
    whose template case is a bare `template_reference` (§1.11)."""

    ONE_OF: ClassVar[tuple[str, ...]] = (*_CONTENT_KEYS, "template_reference")

    template_reference: TemplateReference | None = None


class AppMessage(_GenericContent):
    """A message from the app to a contact (§1.1): one content kind plus optional modifiers."""

    ONE_OF: ClassVar[tuple[str, ...]] = (*_CONTENT_KEYS, "template_message")

    template_message: TemplateMessage | None = None

    explicit_channel_message: dict[Channel, str] | None = None
    explicit_channel_omni_message: dict[Channel, OmniMessageOverride] | None = None
    channel_specific_message: dict[Channel, ChannelSpecificMessage] | None = None
    agent: Agent | None = None

    @field_validator("explicit_channel_message")
    @classmethod
    def _json_where_the_channel_speaks_json(
        cls, value: dict[Channel, str] | None
    ) -> dict[Channel, str] | None:
        for channel, payload in (value or {}).items():
            if channel not in JSON_PAYLOAD_CHANNELS:
                continue
            try:
                json.loads(payload)
            except ValueError:
                raise ValueError(
                    f"the {channel} entry must be the channel's native payload as a JSON "
                    f"document serialised in a string; it is not valid JSON"
                ) from None
        return value


# ---------------------------------------------------------------------------------------------
# Contact messages (§1.14)


class ContactTextMessage(WireModel):
    """Inbound text: whatever the channel delivered, without the app-side 4096 limit."""

    text: str


class ContactMediaMessage(WireModel):
    """Inbound media: the URL is the channel's, so its form is not checked."""

    url: str
    thumbnail_url: str | None = None
    filename_override: str | None = None


class ChoiceResponseMessage(WireModel):
    message_id: str
    postback_data: str


class MediaCardMessage(WireModel):
    url: str
    caption: str | None = None


class FallbackMessage(WireModel):
    raw_message: str | None = None
    reason: Reason | None = None


class ProductResponseMessage(WireModel):
    products: list[ProductItem]
    text: str | None = None
    # The reference payloads carry `title` where API.md names `text`; both are kept.
    title: str | None = None
    catalog_id: str | None = None


class ContactChannelSpecificMessage(WireModel):
    """Inbound channel-only content, e.g. a WhatsApp Flow reply (`message_type: nfm_reply`)."""

    message_type: str
    message: dict[str, Any]


class ReplyTo(WireModel):
    message_id: str


class ContactMessage(OneOfModel):
    """A message from a contact to the app (§1.14)."""

    ONE_OF: ClassVar[tuple[str, ...]] = (
        "text_message",
        "media_message",
        "location_message",
        "choice_response_message",
        "media_card_message",
        "fallback_message",
        "product_response_message",
        "channel_specific_message",
    )

    text_message: ContactTextMessage | None = None
    media_message: ContactMediaMessage | None = None
    location_message: LocationMessage | None = None
    choice_response_message: ChoiceResponseMessage | None = None
    media_card_message: MediaCardMessage | None = None
    fallback_message: FallbackMessage | None = None
    product_response_message: ProductResponseMessage | None = None
    channel_specific_message: ContactChannelSpecificMessage | None = None
    reply_to: ReplyTo | None = None

    @property
    def content_kind(self) -> str:
        return self.chosen_key

    @property
    def content(self) -> WireModel:
        return self.chosen
