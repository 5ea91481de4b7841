"""Wire shapes of project settings (API.md Part A §6.1)."""

from pydantic import BaseModel, ConfigDict, StrictBool

UPDATABLE = {"contact_settings"}


class ContactSettings(BaseModel):
    model_config = ConfigDict(extra="ignore")

    unified_contact_id_enabled: StrictBool = False


class ProjectSettingsRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    contact_settings: ContactSettings | None = None
