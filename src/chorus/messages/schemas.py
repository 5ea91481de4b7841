"""Wire shapes of the messages endpoints (API.md Part B §2)."""

import json
import re
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Self

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from chorus.webhooks.schemas import check_url
from chorus.wire.enums import Channel, MetadataUpdateStrategy
from chorus.wire.identities import ChannelIdentity
from chorus.wire.messages import AppMessage
from chorus.wire.numbers import Int

TTL_MIN, TTL_MAX = 3, 315_576_000_000
_TTL = re.compile(r"^(\d+(?:\.\d+)?)s?$")


class Queue(StrEnum):
    NORMAL_PRIORITY = "NORMAL_PRIORITY"
    HIGH_PRIORITY = "HIGH_PRIORITY"


class ProcessingStrategy(StrEnum):
    DEFAULT = "DEFAULT"
    DISPATCH_ONLY = "DISPATCH_ONLY"


class ContentType(StrEnum):
    CONTENT_UNKNOWN = "CONTENT_UNKNOWN"
    CONTENT_MARKETING = "CONTENT_MARKETING"
    CONTENT_NOTIFICATION = "CONTENT_NOTIFICATION"


class MessagesSource(StrEnum):
    CONVERSATION_SOURCE = "CONVERSATION_SOURCE"
    DISPATCH_SOURCE = "DISPATCH_SOURCE"


class View(StrEnum):
    WITH_METADATA = "WITH_METADATA"
    WITHOUT_METADATA = "WITHOUT_METADATA"


class Direction(StrEnum):
    TO_APP = "TO_APP"
    TO_CONTACT = "TO_CONTACT"


class IdentifiedBy(BaseModel):
    model_config = ConfigDict(extra="ignore")

    channel_identities: list[ChannelIdentity] = Field(min_length=1)


class Recipient(BaseModel):
    model_config = ConfigDict(extra="ignore")

    contact_id: str | None = Field(default=None, min_length=1)
    identified_by: IdentifiedBy | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.contact_id is None) == (self.identified_by is None):
            raise ValueError("give exactly one of contact_id or identified_by")
        return self


def parse_ttl(value: Any) -> float | None:
    """`"10s"`, `"3.5s"`, `10` or `"10"` → seconds (API.md Part B §2.2)."""
    if value is None:
        return None
    text = str(value).strip() if not isinstance(value, bool) else ""
    match = _TTL.match(text)
    if not match:
        raise ValueError('must be a duration such as "86400s"')
    try:
        seconds = Decimal(match.group(1))
    except InvalidOperation:
        raise ValueError('must be a duration such as "86400s"') from None
    if not TTL_MIN <= int(seconds) <= TTL_MAX:
        raise ValueError(f"must be between {TTL_MIN}s and {TTL_MAX}s")
    return float(seconds)


def check_metadata_object(value: Any, limit: int = 2048) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict | str):
        raise ValueError("must be a JSON object")
    size = len(value if isinstance(value, str) else json.dumps(value, separators=(",", ":")))
    if size > limit:
        raise ValueError(f"must be at most {limit} characters when serialised")
    return value


class SendMessageRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    app_id: str = Field(min_length=1)
    recipient: Recipient
    message: AppMessage
    callback_url: str | None = Field(
        default=None, validation_alias=AliasChoices("callback_url", "event_destination_target")
    )
    channel_priority_order: list[Channel] | None = None
    channel_properties: dict[str, str] | None = None
    message_metadata: str | None = Field(default=None, max_length=1024)
    conversation_metadata: Any = None
    conversation_metadata_update_strategy: MetadataUpdateStrategy = MetadataUpdateStrategy.REPLACE
    queue: Queue = Queue.NORMAL_PRIORITY
    ttl: Any = None
    processing_strategy: ProcessingStrategy = ProcessingStrategy.DEFAULT
    correlation_id: str | None = Field(default=None, max_length=128)
    message_content_type: ContentType = ContentType.CONTENT_UNKNOWN

    @model_validator(mode="before")
    @classmethod
    def _callback_url_wins(cls, data: Any) -> Any:
        if isinstance(data, dict) and "callback_url" in data and "event_destination_target" in data:
            data = {k: v for k, v in data.items() if k != "event_destination_target"}
        return data

    @field_validator("callback_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value, max_length=2048)

    @field_validator("channel_priority_order")
    @classmethod
    def _dedupe(cls, value: list[Channel] | None) -> list[Channel] | None:
        return None if value is None else list(dict.fromkeys(value))

    @field_validator("channel_properties")
    @classmethod
    def _property_values(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for key, item in (value or {}).items():
            if len(item) > 1024:
                raise ValueError(f"{key} must be at most 1024 characters")
        return value

    @field_validator("conversation_metadata", mode="before")
    @classmethod
    def _metadata(cls, value: Any) -> Any:
        return check_metadata_object(value)

    @field_validator("ttl")
    @classmethod
    def _ttl(cls, value: Any) -> Any:
        parse_ttl(value)
        return value

    @property
    def ttl_seconds(self) -> float | None:
        return parse_ttl(self.ttl)


class UpdateMessageRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    metadata: str = Field(max_length=1024)


class FetchLastMessageRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    channel_identities: list[str] | None = None
    contact_ids: list[str] | None = None
    app_id: str | None = None
    messages_source: MessagesSource | None = None  # DISPATCH_SOURCE (§2.8)
    page_size: Int | None = None
    page_token: str | None = None
    view: View | None = None  # WITH_METADATA
    start_time: str | None = None
    end_time: str | None = None
    channel: Channel | None = None
    direction: Direction | None = None

    @model_validator(mode="after")
    def _one_key(self) -> Self:
        if self.channel_identities and self.contact_ids:
            raise ValueError("use either channel_identities or contact_ids, not both")
        return self


class TranscodeRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    app_id: str = Field(min_length=1)
    app_message: AppMessage
    channels: list[Channel] = Field(min_length=1)
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
