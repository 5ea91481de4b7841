"""Wire shapes of conversations (API.md §5.2, §5.3, §5.5)."""

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chorus.wire.enums import Channel

METADATA_JSON_LIMIT = 2048


def serialised_size(value: dict[str, Any]) -> int:
    """Characters of `metadata_json` as compact JSON: what the 2048-character limit counts."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def metadata_json_problem(value: dict[str, Any]) -> str | None:
    if serialised_size(value) > METADATA_JSON_LIMIT:
        return f"must be at most {METADATA_JSON_LIMIT} characters when serialised"
    return None


class ConversationFields(BaseModel):
    """Fields settable on create and update; every one optional here."""

    model_config = ConfigDict(extra="ignore")

    active_channel: Channel | None = None
    metadata: str | None = Field(default=None, max_length=1024)
    metadata_json: dict[str, Any] | None = None
    correlation_id: str | None = Field(default=None, max_length=128)

    @field_validator("metadata_json", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, dict):
            raise ValueError("must be a JSON object")
        return value

    @field_validator("metadata_json")
    @classmethod
    def _within_limit(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        problem = None if value is None else metadata_json_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class ConversationCreate(ConversationFields):
    app_id: str = Field(min_length=1)
    contact_id: str = Field(min_length=1)
    active: bool = True


class ConversationUpdate(ConversationFields):
    pass


UPDATABLE = set(ConversationFields.model_fields)
