"""Wire shapes of opt-in / opt-out registration and the consents endpoints (API.md Part A
§6.2, Part B §6.2)."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from chorus.messages.schemas import Recipient
from chorus.wire.enums import Channel


class ListType(StrEnum):
    OPT_OUT_ALL = "OPT_OUT_ALL"
    OPT_OUT_MARKETING = "OPT_OUT_MARKETING"
    OPT_OUT_NOTIFICATION = "OPT_OUT_NOTIFICATION"


class Origin(StrEnum):
    ORIGIN_API = "ORIGIN_API"
    ORIGIN_MO = "ORIGIN_MO"


class Operation(StrEnum):
    OPERATION_INSERT = "OPERATION_INSERT"
    OPERATION_UPDATE = "OPERATION_UPDATE"
    OPERATION_DELETE = "OPERATION_DELETE"


class RegistrationRequest(BaseModel):
    """`optins:register` / `optouts:register`: empty or absent `channels` cover every
    channel of the recipient."""

    model_config = ConfigDict(extra="ignore")

    app_id: str = Field(min_length=1)
    channels: list[Channel] | None = None
    recipient: Recipient
    request_id: str | None = Field(default=None, max_length=128)
