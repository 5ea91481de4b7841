"""Wire shapes of the events endpoints (API.md Part B §4.1)."""

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from chorus.messages.schemas import ProcessingStrategy, Queue, Recipient
from chorus.webhooks.schemas import check_url
from chorus.wire.enums import Channel
from chorus.wire.events import AppEvent


class SendEventRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    app_id: str = Field(min_length=1)
    recipient: Recipient
    event: AppEvent
    callback_url: str | None = Field(
        default=None, validation_alias=AliasChoices("callback_url", "event_destination_target")
    )
    channel_priority_order: list[Channel] | None = None
    event_metadata: str | None = Field(default=None, max_length=1024)
    queue: Queue = Queue.NORMAL_PRIORITY
    processing_strategy: ProcessingStrategy = ProcessingStrategy.DEFAULT
    correlation_id: str | None = Field(default=None, max_length=128)

    @field_validator("callback_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value, max_length=2048)
