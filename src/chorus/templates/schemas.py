"""Wire shapes of templates v1 and v2 (API.md Part B §7.2, §7.3).

The message content of a translation is kept as raw JSON here and validated by the service
against `AppMessage` (§2.2 step 4) with the variables' preview values standing in for their
`${key}` placeholders, so a placeholder in a URL field does not make a valid template fail.
"""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chorus.wire.messages import TemplateReference
from chorus.wire.numbers import Int


class TemplateChannel(StrEnum):
    UNSPECIFIED = "UNSPECIFIED"
    CONVERSATION = "CONVERSATION"
    MESSENGER = "MESSENGER"
    WHATSAPP = "WHATSAPP"
    RCS = "RCS"
    SMS = "SMS"
    VIBERBM = "VIBERBM"
    TELEGRAM = "TELEGRAM"
    INSTAGRAM = "INSTAGRAM"
    KAKAOTALK = "KAKAOTALK"
    APPLEBC = "APPLEBC"


class TemplateVariable(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str = Field(min_length=1)
    preview_value: str = ""


class V1TemplateTranslation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    language_code: str = Field(min_length=1, max_length=16)
    content: str = ""
    version: str = Field(min_length=1)
    variables: list[TemplateVariable] = Field(default_factory=list)


class V1Template(BaseModel):
    """Create and PATCH body of v1; `id` is ignored on PATCH (the path names the template)."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    description: str | None = None
    version: str | None = None
    channel: TemplateChannel | None = None
    default_translation: str | None = None
    translations: list[V1TemplateTranslation] | None = None


V1_UPDATABLE = {"description", "version", "channel", "default_translation", "translations"}

# The content keys a v2 translation carries inline (one of them).
V2_CONTENT_KEYS = (
    "text_message",
    "media_message",
    "choice_message",
    "card_message",
    "carousel_message",
    "location_message",
    "list_message",
    "contact_info_message",
    "template_message",
)


class ChannelTemplateReference(BaseModel):
    model_config = ConfigDict(extra="ignore")

    template_reference: TemplateReference
    parameter_mappings: dict[str, str] = Field(default_factory=dict)


class ChannelTemplateOverrides(BaseModel):
    """`channel_template_overrides`: only WhatsApp and KakaoTalk have channel templates."""

    model_config = ConfigDict(extra="forbid")

    WHATSAPP: ChannelTemplateReference | None = None
    KAKAOTALK: ChannelTemplateReference | None = None


class V2TemplateTranslation(BaseModel):
    """A v2 translation: metadata plus one inline content key (kept raw, validated later)."""

    model_config = ConfigDict(extra="ignore")

    language_code: str = Field(min_length=1, max_length=16)
    version: str | None = None  # output-managed; ignored on input
    channel_template_overrides: ChannelTemplateOverrides | None = None
    variables: list[TemplateVariable] = Field(default_factory=list)
    text_message: dict[str, Any] | None = None
    media_message: dict[str, Any] | None = None
    choice_message: dict[str, Any] | None = None
    card_message: dict[str, Any] | None = None
    carousel_message: dict[str, Any] | None = None
    location_message: dict[str, Any] | None = None
    list_message: dict[str, Any] | None = None
    contact_info_message: dict[str, Any] | None = None
    template_message: dict[str, Any] | None = None

    def content_keys(self) -> list[str]:
        return [key for key in V2_CONTENT_KEYS if getattr(self, key) is not None]


class V2Template(BaseModel):
    """Create and PUT body of v2 (`id` only on create; the times are output only)."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    description: str | None = None
    version: Int | None = None
    default_translation: str | None = None
    translations: list[V2TemplateTranslation] = Field(min_length=1)
