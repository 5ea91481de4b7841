"""WhatsApp channel templates (CHANNELS.md part 1 §2.4, "Channel templates").

`template_message.channel_template["WHATSAPP"]` becomes the Cloud API `template` object:
`template_id` → `name`, `language_code` → `language.code`, and each `parameters` key —
`{component}[{n}]{field}` for `header`/`body` (`n` 1-based), `button[{i}]{sub_type}[{n}]{field}`
for buttons (`i` 0-based, `sub_type` `quick_reply` | `url`) — a parameter of its component,
ordered by index. Fields: `text`, `payload`, `image.link`, `video.link`, `document.link`,
`document.filename`; `*.provider.name` is accepted and dropped.

An unparseable key, or an index past what a template can hold (10 buttons; parameters up to
MAX_PARAMETER), → ValueError (BAD_REQUEST); a gap in a component's parameter indexes →
ChannelFailure TEMPLATE_INSUFFICIENT_PARAMETERS.
"""

import re
from typing import Any

from chorus.channels.base import ChannelFailure
from chorus.wire.messages import ReasonCode, TemplateReference

_TEXT_COMPONENT = re.compile(r"^(header|body)\[([1-9][0-9]*)\](.+)$")
_BUTTON = re.compile(r"^button\[([0-9]+)\](quick_reply|url)\[([1-9][0-9]*)\](.+)$")
MEDIA = ("image", "video", "document")
# A WhatsApp template has at most 10 buttons. Its parameters have no documented cap; this
# one keeps a typo (`body[9999999]`) from becoming a reason naming millions of gaps.
MAX_BUTTON_INDEX = 9
MAX_PARAMETER = 100
_FIELDS = frozenset(
    {"text", "payload", "image.link", "video.link", "document.link", "document.filename"}
)


def parse_key(key: str) -> tuple[tuple[str, int, str], int, str]:
    """((component type, button index or -1, sub_type), parameter index, field) of a key."""
    text = _TEXT_COMPONENT.match(key)
    if text is not None:
        component = (text.group(1), -1, "")
        index, field = int(text.group(2)), text.group(3)
    else:
        button = _BUTTON.match(key)
        if button is None:
            raise ValueError(
                f"channel_template.WHATSAPP.parameters key {key!r} is not "
                "{component}[{n}]{field} (header, body) or button[{i}]{sub_type}[{n}]{field}"
            )
        component = ("button", int(button.group(1)), button.group(2))
        index, field = int(button.group(3)), button.group(4)
    if index > MAX_PARAMETER or component[1] > MAX_BUTTON_INDEX:
        raise ValueError(
            f"channel_template.WHATSAPP.parameters key {key!r}: a template has buttons 0 to "
            f"{MAX_BUTTON_INDEX} and parameters 1 to {MAX_PARAMETER} at most"
        )
    if field not in _FIELDS and not _is_provider(field):
        raise ValueError(
            f"channel_template.WHATSAPP.parameters key {key!r}: unknown field {field!r} (text, "
            "payload, image.link, video.link, document.link, document.filename)"
        )
    return component, index, field


def _is_provider(field: str) -> bool:
    kind, _, rest = field.partition(".")
    return kind in MEDIA and rest == "provider.name"


def _parameter(key: str, fields: dict[str, str]) -> dict[str, Any]:
    kinds = {f.split(".", 1)[0] for f in fields}
    if len(kinds) != 1:
        raise ValueError(f"{key}: one parameter cannot be {' and '.join(sorted(kinds))} at once")
    kind = kinds.pop()
    if kind in ("text", "payload"):
        return {"type": kind, kind: fields[kind]}
    link = fields.get(f"{kind}.link")
    if not link:
        raise ValueError(f"{key}: a {kind} parameter needs {kind}.link")
    media: dict[str, Any] = {"link": link}
    if kind == "document" and fields.get("document.filename"):
        media["filename"] = fields["document.filename"]
    return {"type": kind, kind: media}


def template_object(reference: TemplateReference) -> dict[str, Any]:
    """The Cloud API `template` object of a WhatsApp channel template reference."""
    if not reference.language_code:
        raise ValueError("channel_template.WHATSAPP.language_code is required on WhatsApp")
    grouped: dict[tuple[str, int, str], dict[int, dict[str, str]]] = {}
    for key, value in (reference.parameters or {}).items():
        component, index, field = parse_key(key)
        if _is_provider(field):
            continue  # the Cloud API has no media providers
        grouped.setdefault(component, {}).setdefault(index, {})[field] = value
    order = {"header": 0, "body": 1, "button": 2}
    components = []
    for component in sorted(grouped, key=lambda c: (order[c[0]], c[1])):
        by_index = grouped[component]
        missing = [n for n in range(1, max(by_index) + 1) if n not in by_index]
        name = component[0] if component[1] < 0 else f"button[{component[1]}]{component[2]}"
        if missing:
            raise ChannelFailure(
                ReasonCode.TEMPLATE_INSUFFICIENT_PARAMETERS,
                f"the WhatsApp template's {name} has no parameter "
                + ", ".join(str(n) for n in missing),
            )
        parameters = [_parameter(f"{name}[{n}]", by_index[n]) for n in sorted(by_index)]
        native: dict[str, Any] = {"type": component[0]}
        if component[0] == "button":
            native["sub_type"] = component[2]
            native["index"] = str(component[1])
        native["parameters"] = parameters
        components.append(native)
    buttons = [c[1] for c in grouped if c[0] == "button"]
    if len(buttons) != len(set(buttons)):
        raise ValueError("a WhatsApp template button has one sub_type; a button index has two")
    template: dict[str, Any] = {
        "name": reference.template_id,
        "language": {"code": reference.language_code},
    }
    if components:
        template["components"] = components
    return template
