"""Rules of templates v1 and v2 (API.md Part B §7.2, §7.3).

A template is one row whose `document` holds the wire object. A v2 document also keeps
`history`: every translation version ever stored (what `/translations` lists), while
`translations` holds the current version of each language (what GET returns).

Validation, each a 400 naming the field: ids unique per project across v1 and v2 (409);
`default_translation` names a translation; the content of a CONVERSATION (v1) or any (v2)
translation is a valid generic AppMessage (§2.2 step 4) once the variables' preview values
stand in for their `${key}` placeholders; declared variables and placeholders match both ways.
"""

import json
import re
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.kit.clock import rfc3339, utcnow
from chorus.kit.errors import (
    FieldViolation,
    already_exists,
    describe_validation_error,
    failed_precondition,
    invalid,
    invalid_fields,
    not_found,
)
from chorus.kit.ids import new_id
from chorus.models import Template
from chorus.templates import repository
from chorus.templates.schemas import (
    TemplateChannel,
    TemplateVariable,
    V1Template,
    V1TemplateTranslation,
    V2Template,
    V2TemplateTranslation,
)
from chorus.wire.messages import AppMessage

PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
MAX_ID = 128
LATEST = "latest"


# --- shared rules ----------------------------------------------------------------------------


def same_language(a: str | None, b: str | None) -> bool:
    """`en-US` ≡ `en_US` (and case does not matter)."""
    return a is not None and b is not None and language_key(a) == language_key(b)


def language_key(code: str) -> str:
    return code.replace("_", "-").lower()


def placeholders(value: Any) -> set[str]:
    """Every `${key}` in the strings of a JSON value."""
    found: set[str] = set()
    if isinstance(value, str):
        found.update(PLACEHOLDER.findall(value))
    elif isinstance(value, dict):
        for item in value.values():
            found |= placeholders(item)
    elif isinstance(value, list):
        for item in value:
            found |= placeholders(item)
    return found


def substitute(value: Any, parameters: dict[str, str]) -> Any:
    """`${key}` replaced by `parameters[key]` in every string of a parsed JSON value (so a
    value cannot break the JSON); unknown keys are left as they are."""
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: parameters.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {key: substitute(item, parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, parameters) for item in value]
    return value


def preview_parameters(variables: Iterable[TemplateVariable]) -> dict[str, str]:
    return {v.key: v.preview_value or "x" for v in variables}


def message_violations(message: dict[str, Any], path: str) -> list[FieldViolation]:
    """An AppMessage's validation errors (§2.2 step 4), their fields under `path`."""
    try:
        AppMessage.model_validate(message)
    except ValidationError as exc:
        violations = []
        for error in exc.errors():
            violation = describe_validation_error(error)
            inner = violation.field if violation.field != "body" else ""
            joined = f"{path}.{inner}" if inner and not inner.startswith("[") else path + inner
            violations.append(FieldViolation(joined, violation.description))
        return violations
    return []


def variable_violations(
    variables: list[TemplateVariable],
    used: set[str],
    path: str,
    *,
    also_used: AbstractSet[str] = frozenset(),
) -> list[FieldViolation]:
    declared = [v.key for v in variables]
    violations = []
    duplicates = sorted({k for k in declared if declared.count(k) > 1})
    if duplicates:
        violations.append(
            FieldViolation(f"{path}.variables", f"declares {', '.join(duplicates)} more than once")
        )
    undeclared = sorted(used - set(declared))
    if undeclared:
        violations.append(
            FieldViolation(
                f"{path}.variables",
                "the content uses "
                + ", ".join(f"${{{k}}}" for k in undeclared)
                + " but the variables do not declare it",
            )
        )
    unused = sorted(set(declared) - used - also_used)
    if unused:
        violations.append(
            FieldViolation(
                f"{path}.variables",
                f"declares {', '.join(unused)} but the content has no "
                + ", ".join(f"${{{k}}}" for k in unused),
            )
        )
    return violations


def check_id(template_id: str | None) -> str:
    if template_id is None or template_id == "":
        return new_id()
    if len(template_id) > MAX_ID:
        raise invalid("id", f"must be at most {MAX_ID} characters")
    if "/" in template_id or any(ord(c) < 32 for c in template_id):
        raise invalid("id", "must not contain '/' or control characters")
    return template_id


async def _insert(session: AsyncSession, template: Template) -> Template:
    if await repository.get(session, template.project_id, template.id) is not None:
        raise _duplicate(template.id)
    session.add(template)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise _duplicate(template.id) from None
    return template


def _duplicate(template_id: str) -> Exception:
    return already_exists(
        f"A template with id {template_id} already exists in this project (v1 or v2)",
        "template",
        template_id,
    )


async def _get(
    session: AsyncSession, project_id: str, template_id: str, api_version: int, *, lock: bool
) -> Template:
    template = await repository.get(session, project_id, template_id, for_update=lock)
    if template is None or template.api_version != api_version:
        raise not_found("template", template_id)
    return template


async def delete_template(
    session: AsyncSession, project_id: str, template_id: str, api_version: int
) -> None:
    template = await _get(session, project_id, template_id, api_version, lock=True)
    await session.delete(template)


async def get_template(
    session: AsyncSession, project_id: str, template_id: str, api_version: int
) -> Template:
    return await _get(session, project_id, template_id, api_version, lock=False)


async def list_templates(
    session: AsyncSession, project_id: str, api_version: int
) -> list[Template]:
    return list(await repository.list_for_project(session, project_id, api_version))


# --- v1 --------------------------------------------------------------------------------------


def _v1_violations(
    channel: str, default_translation: str | None, translations: list[V1TemplateTranslation]
) -> list[FieldViolation]:
    violations: list[FieldViolation] = []
    seen: set[tuple[str, str]] = set()
    for index, translation in enumerate(translations):
        path = f"translations[{index}]"
        key = (language_key(translation.language_code), translation.version)
        if key in seen:
            violations.append(
                FieldViolation(
                    path,
                    f"language {translation.language_code} version {translation.version} "
                    "appears twice",
                )
            )
        seen.add(key)
        if channel != TemplateChannel.CONVERSATION:
            continue  # stored only: never sent as an omni template
        try:
            parsed = json.loads(translation.content)
        except ValueError:
            violations.append(
                FieldViolation(f"{path}.content", "must be an AppMessage serialised as JSON")
            )
            continue
        if not isinstance(parsed, dict):
            violations.append(
                FieldViolation(f"{path}.content", "must be a JSON object (an AppMessage)")
            )
            continue
        used = placeholders(parsed)
        violations += variable_violations(translation.variables, used, path)
        previewed = substitute(parsed, preview_parameters(translation.variables))
        violations += message_violations(previewed, f"{path}.content")
    if default_translation and not any(
        same_language(default_translation, t.language_code) for t in translations
    ):
        violations.append(
            FieldViolation(
                "default_translation",
                f"{default_translation} is not the language_code of any translation",
            )
        )
    return violations


def _v1_translations(
    translations: list[V1TemplateTranslation], previous: list[dict[str, Any]], now: str
) -> list[dict[str, Any]]:
    stored = []
    for translation in translations:
        old = next(
            (
                p
                for p in previous
                if same_language(p["language_code"], translation.language_code)
                and p["version"] == translation.version
            ),
            None,
        )
        item = {
            "language_code": translation.language_code,
            "content": translation.content,
            "version": translation.version,
            "variables": [v.model_dump() for v in translation.variables],
        }
        unchanged = old is not None and all(old.get(k) == v for k, v in item.items())
        item["create_time"] = old["create_time"] if old is not None else now
        item["update_time"] = old["update_time"] if unchanged and old is not None else now
        stored.append(item)
    return stored


async def create_v1(session: AsyncSession, project_id: str, body: V1Template) -> Template:
    template_id = check_id(body.id)
    channel = (body.channel or TemplateChannel.UNSPECIFIED).value
    translations = body.translations or []
    violations = _v1_violations(channel, body.default_translation, translations)
    if violations:
        raise invalid_fields(violations)
    now = utcnow()
    document = {
        "id": template_id,
        "description": body.description or "",
        "version": body.version or "",
        "channel": channel,
        "default_translation": body.default_translation or "",
        "translations": _v1_translations(translations, [], rfc3339(now)),
    }
    return await _insert(
        session,
        Template(
            project_id=project_id,
            id=template_id,
            api_version=1,
            document=document,
            create_time=now,
            update_time=now,
        ),
    )


async def update_v1(
    session: AsyncSession, project_id: str, template_id: str, changes: dict[str, Any]
) -> Template:
    template = await _get(session, project_id, template_id, 1, lock=True)
    document = dict(template.document)
    if "channel" in changes:
        document["channel"] = (changes["channel"] or TemplateChannel.UNSPECIFIED).value
    for field in ("description", "version", "default_translation"):
        if field in changes:
            document[field] = changes[field] or ""
    if "translations" in changes:
        translations = changes["translations"] or []
    else:
        translations = [
            V1TemplateTranslation.model_validate(t) for t in document.get("translations", [])
        ]
    violations = _v1_violations(document["channel"], document["default_translation"], translations)
    if violations:
        raise invalid_fields(violations)
    now = utcnow()
    document["translations"] = _v1_translations(
        translations, document.get("translations", []), rfc3339(now)
    )
    template.document = document
    template.update_time = now
    await session.flush()
    return template


def v1_view(template: Template) -> dict[str, Any]:
    document = template.document
    return {
        "id": template.id,
        "description": document.get("description", ""),
        "version": document.get("version", ""),
        "channel": document.get("channel", TemplateChannel.UNSPECIFIED.value),
        "default_translation": document.get("default_translation", ""),
        "translations": list(document.get("translations", [])),
        "create_time": rfc3339(template.create_time),
        "update_time": rfc3339(template.update_time),
    }


# --- v2 --------------------------------------------------------------------------------------


def v2_content(translation: V2TemplateTranslation) -> dict[str, Any]:
    """The translation's message as an AppMessage object (its one content key)."""
    return {key: getattr(translation, key) for key in translation.content_keys()}


def _v2_violations(body: V2Template) -> list[FieldViolation]:
    violations: list[FieldViolation] = []
    languages: set[str] = set()
    for index, translation in enumerate(body.translations):
        path = f"translations[{index}]"
        if language_key(translation.language_code) in languages:
            violations.append(
                FieldViolation(
                    f"{path}.language_code",
                    f"{translation.language_code} appears in more than one translation",
                )
            )
        languages.add(language_key(translation.language_code))
        keys = translation.content_keys()
        if len(keys) != 1:
            violations.append(
                FieldViolation(
                    path,
                    "exactly one of text_message, media_message, choice_message, card_message, "
                    "carousel_message, location_message, list_message, contact_info_message, "
                    "template_message is required" + (f"; got {', '.join(keys)}" if keys else ""),
                )
            )
            continue
        content = v2_content(translation)
        mapped: set[str] = set()
        overrides = translation.channel_template_overrides
        for channel in ("WHATSAPP", "KAKAOTALK"):
            override = getattr(overrides, channel) if overrides is not None else None
            if override is not None:
                mapped |= set(override.parameter_mappings.values())
        violations += variable_violations(
            translation.variables, placeholders(content), path, also_used=mapped
        )
        declared = {v.key for v in translation.variables}
        for key in sorted(mapped - declared):
            violations.append(
                FieldViolation(
                    f"{path}.channel_template_overrides",
                    f"parameter_mappings names {key}, which the variables do not declare",
                )
            )
        previewed = substitute(content, preview_parameters(translation.variables))
        violations += message_violations(previewed, path)
    if not body.default_translation:
        violations.append(FieldViolation("default_translation", "is required"))
    elif language_key(body.default_translation) not in languages:
        violations.append(
            FieldViolation(
                "default_translation",
                f"{body.default_translation} is not the language_code of any translation",
            )
        )
    return violations


def _v2_translation(translation: V2TemplateTranslation) -> dict[str, Any]:
    """The stored form, without version and times."""
    item: dict[str, Any] = {"language_code": translation.language_code}
    if translation.channel_template_overrides is not None:
        item["channel_template_overrides"] = translation.channel_template_overrides.model_dump(
            mode="json", exclude_none=True
        )
    item["variables"] = [v.model_dump() for v in translation.variables]
    item.update(v2_content(translation))
    return item


_MANAGED = ("version", "create_time", "update_time")


def _v2_translations(
    translations: list[V2TemplateTranslation], history: list[dict[str, Any]], now: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(current translations, new history): a translation whose content, overrides or
    variables changed gets the language's highest version + 1; unchanged ones keep theirs."""
    current = []
    history = list(history)
    for translation in translations:
        item = _v2_translation(translation)
        same = [h for h in history if same_language(h["language_code"], item["language_code"])]
        latest = max(same, key=lambda h: int(h["version"]), default=None)
        if latest is not None and {
            k: v for k, v in latest.items() if k not in _MANAGED and k != "language_code"
        } == {k: v for k, v in item.items() if k != "language_code"}:
            current.append(latest)
            continue
        version = int(latest["version"]) + 1 if latest is not None else 1
        stored = {
            "language_code": item["language_code"],
            "version": str(version),
            **{k: v for k, v in item.items() if k != "language_code"},
            "create_time": now,
            "update_time": now,
        }
        history.append(stored)
        current.append(stored)
    return current, history


async def create_v2(session: AsyncSession, project_id: str, body: V2Template) -> Template:
    template_id = check_id(body.id)
    violations = _v2_violations(body)
    if violations:
        raise invalid_fields(violations)
    now = utcnow()
    current, history = _v2_translations(body.translations, [], rfc3339(now))
    document = {
        "id": template_id,
        "description": body.description or "",
        "version": 1,
        "default_translation": body.default_translation,
        "translations": current,
        "history": history,
    }
    return await _insert(
        session,
        Template(
            project_id=project_id,
            id=template_id,
            api_version=2,
            document=document,
            create_time=now,
            update_time=now,
        ),
    )


async def update_v2(
    session: AsyncSession, project_id: str, template_id: str, body: V2Template
) -> Template:
    template = await _get(session, project_id, template_id, 2, lock=True)
    document = dict(template.document)
    if body.version != document["version"]:
        raise failed_precondition(
            f"Template {template_id} is at version {document['version']}; an update must carry "
            f"that version (got {body.version})"
        )
    violations = _v2_violations(body)
    if violations:
        raise invalid_fields(violations)
    now = utcnow()
    current, history = _v2_translations(
        body.translations, document.get("history", []), rfc3339(now)
    )
    document.update(
        description=body.description or "",
        version=document["version"] + 1,
        default_translation=body.default_translation,
        translations=current,
        history=history,
    )
    template.document = document
    template.update_time = now
    await session.flush()
    return template


def v2_view(template: Template) -> dict[str, Any]:
    document = template.document
    return {
        "id": template.id,
        "description": document.get("description", ""),
        "version": document["version"],
        "default_translation": document.get("default_translation", ""),
        "translations": list(document.get("translations", [])),
        "create_time": rfc3339(template.create_time),
        "update_time": rfc3339(template.update_time),
    }


def v2_translations(
    template: Template, language_code: str | None, translation_version: str | None
) -> list[dict[str, Any]]:
    """`/translations`: every stored version, filtered by language and version (`latest`:
    the highest version of each language)."""
    found = list(template.document.get("history", []))
    if language_code:
        found = [t for t in found if same_language(t["language_code"], language_code)]
    if translation_version and translation_version.lower() == LATEST:
        highest: dict[str, dict[str, Any]] = {}
        for item in found:
            key = language_key(item["language_code"])
            if key not in highest or int(item["version"]) > int(highest[key]["version"]):
                highest[key] = item
        found = list(highest.values())
    elif translation_version:
        found = [t for t in found if t["version"] == translation_version]
    return found


async def channel_template_languages(
    session: AsyncSession, project_id: str, channel: str, name: str
) -> set[str]:
    """The languages in which the project's v2 templates name the channel's own template
    `name` (their `channel_template_overrides`), as `language_key`s."""
    languages: set[str] = set()
    for template in await repository.list_for_project(session, project_id, 2):
        for translation in template.document.get("translations", []):
            override = (translation.get("channel_template_overrides") or {}).get(channel) or {}
            reference = override.get("template_reference") or {}
            if reference.get("template_id") == name and reference.get("language_code"):
                languages.add(language_key(reference["language_code"]))
    return languages
