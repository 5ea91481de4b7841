"""Wire shapes of webhooks (API.md §3.2)."""

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chorus.wire.enums import WebhookTargetType, WebhookTrigger

# API.md §3.2's `conversation-api.*.sinch.com`, the `*` of one label or more.
FORBIDDEN_HOST = re.compile(r"^conversation-api\.(?:[^.]+\.)+sinch\.com$", re.IGNORECASE)


def check_url(value: str, *, max_length: int = 742) -> str:
    if len(value) > max_length:
        raise ValueError(f"must be at most {max_length} characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http:// or https:// URL")
    if FORBIDDEN_HOST.match(parts.hostname.rstrip(".")):  # "sinch.com." is the same host
        raise ValueError("must not point at the Conversation API itself")
    return value


class ClientCredentials(BaseModel):
    model_config = ConfigDict(extra="ignore")

    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    endpoint: str
    scope: str | None = Field(default=None, max_length=1024)
    response_type: str | None = Field(default=None, max_length=64)
    token_request_type: str | None = None

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_url(cls, value: str) -> str:
        return check_url(value, max_length=2048)


class WebhookFields(BaseModel):
    model_config = ConfigDict(extra="ignore")

    app_id: str | None = Field(default=None, min_length=1)
    target: str | None = None
    target_type: WebhookTargetType | None = None
    secret: str | None = Field(default=None, max_length=256)
    triggers: list[WebhookTrigger] | None = None
    client_credentials: ClientCredentials | None = None

    @field_validator("target")
    @classmethod
    def _target_is_url(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value)

    @field_validator("triggers")
    @classmethod
    def _collapse_duplicates(
        cls, value: list[WebhookTrigger] | None
    ) -> list[WebhookTrigger] | None:
        return None if value is None else list(dict.fromkeys(value))


class WebhookCreate(WebhookFields):
    target: str  # type: ignore[assignment]


class WebhookUpdate(WebhookFields):
    pass


UPDATABLE = set(WebhookFields.model_fields)
