"""The simulated WhatsApp Business Account's approved message templates.

A template is `(phone_number_id, name, language)` with the number of parameters each
component takes (`{"header": 1, "body": 2, "button[0]": 1}`) and its body text with `{{n}}`
placeholders. The fake Cloud API refuses a template send naming none with 132001, and one
whose parameter counts differ with 132000, synchronously as Graph does; an accepted send shows
the body text, parameters filled in, on the handset.

Control API (local mode, no credentials):
`POST /simulator/v1/whatsapp/templates` registers (or replaces) one:
`{"phone_number_id", "name", "language", "parameters"?, "text"?}` (any content type; other
keys, and a "/" in the first three, are a 400 naming the field);
`GET /simulator/v1/whatsapp/templates[?phone_number_id=...]` lists them;
`DELETE /simulator/v1/whatsapp/templates/{phone_number_id}/{name}/{language}` removes one.
"""

import re
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.clock import rfc3339, utcnow
from chorus.kit.db import ReadSession, WriteSession
from chorus.kit.errors import describe_validation_error, invalid, invalid_fields, not_found
from chorus.models import SimulatedTemplate
from chorus.simulator.control import json_body

TEMPLATE_MISSING = 132001
PARAMETER_MISMATCH = 132000
_COMPONENT = re.compile(r"^(header|body|button\[[0-9]+\])$")
_PLACEHOLDER = re.compile(r"\{\{([0-9]+)\}\}")

control_router = APIRouter(prefix="/simulator/v1/whatsapp", tags=["simulator"])


class TemplateRegistration(BaseModel):
    # Unknown keys are refused, as a handset PATCH refuses them: a misspelt `parameter`
    # would otherwise approve a template that takes none.
    model_config = ConfigDict(extra="forbid")

    phone_number_id: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=512)
    language: str = Field(min_length=1, max_length=16)
    parameters: dict[str, int] = Field(default_factory=dict)
    text: str = ""

    @field_validator("phone_number_id", "name", "language")
    @classmethod
    def _one_path_segment(cls, value: str) -> str:
        # Each is a segment of the DELETE's path: one holding "/" could never be withdrawn.
        if "/" in value:
            raise ValueError("must not contain '/'")
        return value

    @field_validator("parameters")
    @classmethod
    def _components(cls, value: dict[str, int]) -> dict[str, int]:
        for key, count in value.items():
            if not _COMPONENT.match(key):
                raise ValueError(f"{key!r} is not header, body or button[i]")
            if count < 0:
                raise ValueError(f"{key} must count 0 or more parameters")
        return {key: count for key, count in value.items() if count}


def template_view(template: SimulatedTemplate) -> dict[str, Any]:
    return {
        "phone_number_id": template.account,
        "name": template.name,
        "language": template.language,
        "parameters": dict(template.parameters or {}),
        "text": template.text,
        "created_at": rfc3339(template.created_at),
    }


_REGISTRATION_BODY = {  # the body in the OpenAPI document, though it is read by hand
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": TemplateRegistration.model_json_schema()}},
    }
}


@control_router.post("/templates", openapi_extra=_REGISTRATION_BODY)
async def register_template(
    request: Request, session: AsyncSession = WriteSession
) -> dict[str, Any]:
    # Read as the handset endpoints read theirs, whatever the content type (`curl -d` sends
    # a form's), rather than by FastAPI, which takes only application/json.
    raw = await json_body(request)
    if not isinstance(raw, dict):
        raise invalid("body", "must be a JSON object")
    try:
        body = TemplateRegistration.model_validate(raw)
    except ValidationError as exc:
        raise invalid_fields([describe_validation_error(e) for e in exc.errors()]) from None
    template = await session.get(
        SimulatedTemplate, (body.phone_number_id, body.name, body.language)
    )
    if template is None:
        template = SimulatedTemplate(
            account=body.phone_number_id,
            name=body.name,
            language=body.language,
            created_at=utcnow(),
        )
        session.add(template)
    template.parameters = body.parameters
    template.text = body.text
    await session.flush()
    return template_view(template)


@control_router.get("/templates")
async def list_templates(
    phone_number_id: str | None = None, session: AsyncSession = ReadSession
) -> dict[str, Any]:
    query = select(SimulatedTemplate).order_by(
        SimulatedTemplate.account, SimulatedTemplate.name, SimulatedTemplate.language
    )
    if phone_number_id:
        query = query.where(SimulatedTemplate.account == phone_number_id)
    return {"templates": [template_view(t) for t in await session.scalars(query)]}


@control_router.delete("/templates/{phone_number_id}/{name}/{language}")
async def delete_template(
    phone_number_id: str, name: str, language: str, session: AsyncSession = WriteSession
) -> dict[str, Any]:
    template = await session.get(SimulatedTemplate, (phone_number_id, name, language))
    if template is None:
        raise not_found("template", f"{phone_number_id}/{name}/{language}")
    await session.delete(template)
    return {}


# --- the Cloud API's checks ----------------------------------------------------------------


def parameter_counts(template: dict[str, Any]) -> dict[str, int]:
    """Parameters per component of a send's `template` object."""
    counts: dict[str, int] = {}
    for component in template.get("components") or []:
        if not isinstance(component, dict):
            continue
        kind = str(component.get("type", "")).lower()
        key = f"button[{component.get('index', 0)}]" if kind == "button" else kind
        parameters = component.get("parameters") or []
        if parameters:
            counts[key] = counts.get(key, 0) + len(parameters)
    return counts


async def check_template(
    session: AsyncSession, phone_number_id: str, template: dict[str, Any]
) -> tuple[int, str] | str:
    """(error code, details) when the Cloud API would refuse the send, else the text the
    handset shows."""
    name = str(template.get("name", ""))
    language = str((template.get("language") or {}).get("code", ""))
    approved = await session.get(SimulatedTemplate, (phone_number_id, name, language))
    if approved is None:
        return TEMPLATE_MISSING, f"template name ({name}) does not exist in {language}"
    sent = parameter_counts(template)
    expected = {k: v for k, v in (approved.parameters or {}).items() if v}
    if sent != expected:
        return (
            PARAMETER_MISMATCH,
            f"number of parameters does not match the expected number of params: expected "
            f"{expected}, got {sent}",
        )
    return rendered_text(approved, template)


def rendered_text(approved: SimulatedTemplate, template: dict[str, Any]) -> str:
    body = next(
        (
            c
            for c in template.get("components") or []
            if isinstance(c, dict) and c.get("type") == "body"
        ),
        {},
    )
    values = [
        str(p.get(p.get("type", "text"), "")) if isinstance(p, dict) else ""
        for p in body.get("parameters") or []
    ]

    def fill(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return values[index] if 0 <= index < len(values) else match.group(0)

    text = _PLACEHOLDER.sub(fill, approved.text or "")
    return text or f"[template {approved.name} ({approved.language})]"
