"""Wire shapes of contacts (API.md §4)."""

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chorus.wire.enums import Channel, ContactLanguage, MergeStrategy
from chorus.wire.identities import ChannelIdentity

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class ContactFields(BaseModel):
    model_config = ConfigDict(extra="ignore")

    channel_identities: list[ChannelIdentity] | None = None
    channel_priority: list[Channel] | None = None
    display_name: str | None = Field(default=None, max_length=128)
    email: str | None = Field(default=None, max_length=254)
    external_id: str | None = Field(default=None, max_length=128)
    metadata: str | None = Field(default=None, max_length=1024)
    language: ContactLanguage | None = None

    @field_validator("email")
    @classmethod
    def _email_shape(cls, value: str | None) -> str | None:
        if value and not EMAIL.match(value):
            raise ValueError("must look like name@domain")
        return value

    @field_validator("channel_identities")
    @classmethod
    def _not_empty(cls, value: list[ChannelIdentity] | None) -> list[ChannelIdentity] | None:
        if value is not None and not value:
            raise ValueError("must hold at least one channel identity")
        return value


class ContactCreate(ContactFields):
    channel_identities: list[ChannelIdentity]  # type: ignore[assignment]


class ContactUpdate(ContactFields):
    pass


UPDATABLE = set(ContactFields.model_fields)


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    source_id: str = Field(min_length=1)
    strategy: MergeStrategy = MergeStrategy.MERGE


class MergeRequestWithDestination(MergeRequest):
    destination_id: str = Field(min_length=1)


class IdentifiedBy(BaseModel):
    model_config = ConfigDict(extra="ignore")

    channel_identities: list[ChannelIdentity] = Field(min_length=1)


class ProfileRecipient(BaseModel):
    model_config = ConfigDict(extra="ignore")

    contact_id: str | None = Field(default=None, min_length=1)
    identified_by: IdentifiedBy | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "ProfileRecipient":
        if (self.contact_id is None) == (self.identified_by is None):
            raise ValueError("give exactly one of contact_id or identified_by")
        return self


PROFILE_CHANNELS = (Channel.MESSENGER, Channel.INSTAGRAM, Channel.VIBER, Channel.LINE)


class ChannelProfileRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    app_id: str = Field(min_length=1)
    channel: Channel
    recipient: ProfileRecipient

    @field_validator("channel")
    @classmethod
    def _profile_channel(cls, value: Channel) -> Channel:
        if value not in PROFILE_CHANNELS:
            raise ValueError(
                "channel profiles exist only on " + ", ".join(c.value for c in PROFILE_CHANNELS)
            )
        return value
