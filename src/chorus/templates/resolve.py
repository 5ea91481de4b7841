"""Templates resolved at send time, per channel (API.md Part B §7.4, §1.10, §1.11).

`message_for_channel` turns the message into what one channel transcodes: on channel `ch`
the channel's own template wins where one exists (the request's `channel_template[ch]`, then
the v2 translation's `channel_template_overrides[ch]`) and is handed to the channel plugin as
`template_message.channel_template[ch]`; otherwise the omni template is looked up (v2 first,
then v1; the version asked for or the latest; the language asked for or the default, `en-US`
≡ `en_US`), its `${key}` variables substituted after JSON parsing, and its content becomes the
generic content. `explicit_channel_omni_message[ch].template_reference` is resolved the same
way. Dispatch calls it before each candidate channel's transcoding, so the rule holds across
fallback; `messages:transcode` calls it too. Channel plugins never see the template store.

Failures are `TemplateFailure` values carrying the delivery report's reason: TEMPLATE_NOT_FOUND,
TEMPLATE_NON_EXISTING_LANGUAGE_OR_VERSION, TEMPLATE_INSUFFICIENT_PARAMETERS, or BAD_REQUEST
(no template usable on the channel; rendered content that is not a valid message).
"""

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.templates import repository
from chorus.templates.schemas import V2_CONTENT_KEYS, TemplateChannel
from chorus.templates.service import LATEST, same_language, substitute
from chorus.wire.enums import Channel
from chorus.wire.messages import AppMessage, ReasonCode, TemplateMessage, TemplateReference

MAX_NESTING = 3  # a template whose content is itself a template message, and so on
MODIFIER_MAPS = (
    "explicit_channel_message",
    "explicit_channel_omni_message",
    "channel_specific_message",
)


class TemplateFailure(Exception):
    def __init__(self, code: ReasonCode, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description

    @property
    def reason(self) -> dict[str, Any]:
        return {
            "code": self.code.value,
            "description": self.description,
            "sub_code": "UNSPECIFIED_SUB_CODE",
        }


@dataclass(frozen=True)
class Translation:
    template_id: str
    language_code: str
    version: str
    content: dict[str, Any]  # an AppMessage object, placeholders not yet substituted
    variables: list[str]
    overrides: dict[str, Any]  # v2 channel_template_overrides


def needs_resolution(message: AppMessage, channel: Channel) -> bool:
    """Whether the message's content on `channel` comes from a template."""
    if channel in (message.explicit_channel_message or {}):
        return False
    override = (message.explicit_channel_omni_message or {}).get(channel)
    if override is not None:
        return override.template_reference is not None
    return message.template_message is not None


async def message_for_channel(
    session: AsyncSession,
    project_id: str,
    message: AppMessage,
    channel: Channel,
    *,
    channel_templates: bool,
) -> AppMessage:
    """The message as `channel` transcodes it (the same object when no template is
    involved). `channel_templates`: whether the channel has native templates (WhatsApp)."""
    if not needs_resolution(message, channel):
        return message
    resolver = _Resolver(session, project_id, channel, channel_templates)
    override = (message.explicit_channel_omni_message or {}).get(channel)
    if override is not None and override.template_reference is not None:
        content = await resolver.reference(override.template_reference, depth=0)
    else:
        assert message.template_message is not None
        content = await resolver.template_message(message.template_message, depth=0)
    return _merged(message, content, channel)


def _merged(message: AppMessage, content: dict[str, Any], channel: Channel) -> AppMessage:
    """The request's modifiers over the resolved content's. The request's override for the
    channel is the template reference just resolved: dropped. The content's own override for
    the channel applies, as any message's would, unless it names a template in turn (not
    followed: the content is what the template says to send)."""
    base = message.model_dump(mode="json", exclude_none=True)
    result = {key: value for key, value in content.items() if key not in MODIFIER_MAPS}
    result.pop("agent", None)
    for key in MODIFIER_MAPS:
        given = dict(base.get(key) or {})
        own = dict(content.get(key) or {})
        if key == "explicit_channel_omni_message":
            given.pop(channel.value, None)
            if "template_reference" in (own.get(channel.value) or {}):
                own.pop(channel.value)
        merged = {**own, **given}
        if merged:
            result[key] = merged
    agent = base.get("agent") or content.get("agent")
    if agent:
        result["agent"] = agent
    try:
        return AppMessage.model_validate(result)
    except ValidationError as exc:
        raise TemplateFailure(
            ReasonCode.BAD_REQUEST, f"the rendered template is not a valid message: {_brief(exc)}"
        ) from None


def _brief(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where}: {first.get('msg', 'invalid')}".removeprefix(": ")


class _Resolver:
    def __init__(
        self, session: AsyncSession, project_id: str, channel: Channel, channel_templates: bool
    ) -> None:
        self.session = session
        self.project_id = project_id
        self.channel = channel
        self.channel_templates = channel_templates

    async def template_message(self, template: TemplateMessage, depth: int) -> dict[str, Any]:
        own = (template.channel_template or {}).get(self.channel)
        if own is not None and self.channel_templates:
            return self.channel_template(own.model_dump(mode="json", exclude_none=True))
        if template.omni_template is None:
            raise TemplateFailure(
                ReasonCode.BAD_REQUEST,
                f"{self.channel.value} has no channel templates"
                if not self.channel_templates
                else f"channel_template has no {self.channel.value} entry",
            )
        return await self.reference(template.omni_template, depth)

    def channel_template(self, reference: dict[str, Any]) -> dict[str, Any]:
        return {"template_message": {"channel_template": {self.channel.value: reference}}}

    async def reference(self, reference: TemplateReference, depth: int) -> dict[str, Any]:
        translation = await find_translation(self.session, self.project_id, reference)
        parameters = reference.parameters or {}
        missing = [key for key in translation.variables if key not in parameters]
        if missing:
            raise TemplateFailure(
                ReasonCode.TEMPLATE_INSUFFICIENT_PARAMETERS,
                f"template {translation.template_id} ({translation.language_code}, version "
                f"{translation.version}) needs parameters {', '.join(missing)}",
            )
        override = translation.overrides.get(self.channel.value) if self.channel_templates else None
        if override:
            return self.channel_template(mapped_reference(override, parameters, translation))
        rendered = substitute(translation.content, parameters)
        nested = rendered.get("template_message")
        if nested is not None:
            if depth + 1 >= MAX_NESTING:
                raise TemplateFailure(
                    ReasonCode.BAD_REQUEST,
                    f"templates nest more than {MAX_NESTING} deep from {translation.template_id}",
                )
            try:
                inner = TemplateMessage.model_validate(nested)
            except ValidationError as exc:
                raise TemplateFailure(
                    ReasonCode.BAD_REQUEST,
                    f"template {translation.template_id} holds an invalid template_message: "
                    f"{_brief(exc)}",
                ) from None
            content = await self.template_message(inner, depth + 1)
            outer = {k: v for k, v in rendered.items() if k != "template_message"}
            for key in MODIFIER_MAPS:
                if key in outer or key in content:
                    content[key] = {**(outer.get(key) or {}), **(content.get(key) or {})}
            return content
        return rendered


def mapped_reference(
    override: dict[str, Any], parameters: dict[str, str], translation: Translation
) -> dict[str, Any]:
    """A v2 `ChannelTemplateReference` as a channel template reference: its own parameters,
    plus each `parameter_mappings` channel parameter given its omni variable's value."""
    target = override.get("template_reference") or {}
    mapped = dict(target.get("parameters") or {})
    for channel_parameter, variable in (override.get("parameter_mappings") or {}).items():
        if variable not in parameters:
            raise TemplateFailure(
                ReasonCode.TEMPLATE_INSUFFICIENT_PARAMETERS,
                f"the channel template's {channel_parameter} maps to {variable}, which has no "
                "value in parameters",
            )
        mapped[channel_parameter] = parameters[variable]
    reference: dict[str, Any] = {
        "template_id": target.get("template_id", ""),
        "language_code": target.get("language_code") or translation.language_code,
    }
    if target.get("version"):
        reference["version"] = target["version"]
    if mapped:
        reference["parameters"] = mapped
    return reference


async def find_translation(
    session: AsyncSession, project_id: str, reference: TemplateReference
) -> Translation:
    """§7.4 steps 1–3."""
    template = await repository.get(session, project_id, reference.template_id)
    document = template.document if template is not None else {}
    if template is None or (
        template.api_version == 1 and document.get("channel") != TemplateChannel.CONVERSATION
    ):
        raise TemplateFailure(
            ReasonCode.TEMPLATE_NOT_FOUND,
            f"no omni-channel (CONVERSATION) template {reference.template_id} in this project",
        )
    language = reference.language_code or document.get("default_translation") or ""
    version = reference.version or LATEST
    latest = version.lower() == LATEST
    if template.api_version == 2:
        pool = document.get("translations", []) if latest else document.get("history", [])
        same = [t for t in pool if same_language(t["language_code"], language)]
        chosen = (
            max(same, key=lambda t: int(t["version"]), default=None)
            if latest
            else next((t for t in same if t["version"] == version), None)
        )
    else:
        pool = document.get("translations", [])
        same = [t for t in pool if same_language(t["language_code"], language)]
        if latest:  # the most recently updated translation of the language
            ordered = sorted(enumerate(same), key=lambda p: (p[1].get("update_time", ""), p[0]))
            chosen = ordered[-1][1] if ordered else None
        else:
            chosen = next((t for t in same if t["version"] == version), None)
    if chosen is None:
        raise TemplateFailure(
            ReasonCode.TEMPLATE_NON_EXISTING_LANGUAGE_OR_VERSION,
            f"template {reference.template_id} has no translation in language "
            f"{language or '(none given, and no default_translation)'} at version {version}",
        )
    if template.api_version == 2:
        content = {key: chosen[key] for key in V2_CONTENT_KEYS if key in chosen}
    else:
        try:
            content = json.loads(chosen.get("content") or "")
        except ValueError:
            content = None
        if not isinstance(content, dict):
            raise TemplateFailure(
                ReasonCode.BAD_REQUEST,
                f"template {reference.template_id}'s content is not an AppMessage in JSON",
            )
    return Translation(
        template_id=reference.template_id,
        language_code=chosen["language_code"],
        version=str(chosen["version"]),
        content=content,
        variables=[v["key"] for v in chosen.get("variables") or []],
        overrides=chosen.get("channel_template_overrides") or {},
    )
