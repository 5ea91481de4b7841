"""Wire shape of `capability:query` (API.md Part B §6.1)."""

from pydantic import BaseModel, ConfigDict, Field

from chorus.messages.schemas import Recipient


class CapabilityQueryRequest(BaseModel):
    # Seed-era examples also put `project_id` in the body: ignored, the path wins.
    model_config = ConfigDict(extra="ignore")

    app_id: str = Field(min_length=1)
    recipient: Recipient
    request_id: str | None = Field(default=None, max_length=128)
