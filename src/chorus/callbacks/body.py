"""The callback body: the envelope around one payload, and its exact serialisation.

`serialize` writes JSON exactly as JavaScript's `JSON.stringify` would re-serialise the parsed
body (API.md §8.4), so a receiver that hands the Node SDK validator a parsed object instead of
the raw body still computes the signature chorus signed:

- compact: `,` and `:` separators, no whitespace;
- non-ASCII as raw UTF-8, not `\\uXXXX`; `/` not escaped; control characters and lone
  surrogates as lower-case `\\uXXXX` (as `JSON.stringify` does);
- numbers as JavaScript writes them: `10`, not `10.0`; shortest round-trip digits; exponent
  form only below 1e-6 or from 1e21 on (`1e-7`, `1e+21`); NaN and infinities as `null`;
- object keys in insertion order, except that array-index keys ("0", "17") come first in
  ascending order, because a JavaScript object enumerates them that way.
"""

import json
import math
import re
from typing import Any

ENVELOPE_KEYS = ("app_id", "accepted_time", "event_time", "project_id")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_ARRAY_INDEX_MAX = 2**32 - 2


def build_body(
    *,
    app_id: str,
    project_id: str,
    accepted_time: str,
    event_time: str,
    payload_key: str,
    payload: dict[str, Any],
    message_metadata: str | None = None,
    correlation_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Envelope keys first (API.md §8.1), then the one payload key, then Decision 6's extras.
    There is no `trigger` key: receivers infer it from the payload key."""
    body: dict[str, Any] = {
        "app_id": app_id,
        "accepted_time": accepted_time,
        "event_time": event_time,
        "project_id": project_id,
    }
    if message_metadata is not None:
        body["message_metadata"] = message_metadata
    if correlation_id is not None:
        body["correlation_id"] = correlation_id
    body[payload_key] = payload
    for key, value in (extra or {}).items():
        body.setdefault(key, value)
    return body


def serialize(body: Any) -> str:
    """The exact text that goes on the wire and is signed."""
    parts: list[str] = []
    _write(body, parts)
    return "".join(parts)


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(js_number(value))
    elif isinstance(value, dict):
        out.append("{")
        for index, key in enumerate(_js_key_order(value)):
            if index:
                out.append(",")
            out.append(_string(str(key)))
            out.append(":")
            _write(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot serialise {type(value).__name__} in a callback body")


def _string(text: str) -> str:
    encoded = json.dumps(text, ensure_ascii=False)
    if _LONE_SURROGATE.search(encoded):
        encoded = _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded)
    return encoded


def _is_array_index(key: Any) -> bool:
    return (
        isinstance(key, str)
        and key.isascii()
        and key.isdigit()
        and (key == "0" or not key.startswith("0"))
        and int(key) <= _ARRAY_INDEX_MAX
    )


def _js_key_order(obj: dict[Any, Any]) -> list[Any]:
    indices = [key for key in obj if _is_array_index(key)]
    if not indices:
        return list(obj)
    indices.sort(key=int)
    return indices + [key for key in obj if not _is_array_index(key)]


def js_number(value: float) -> str:
    """A float as JavaScript's Number.prototype.toString writes it (ECMA-262 Number::toString)."""
    if not math.isfinite(value):
        return "null"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + int(exponent or 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        exp = f"e{'+' if e > 0 else '-'}{abs(e)}"
        text = digits + exp if k == 1 else f"{digits[0]}.{digits[1:]}{exp}"
    return sign + text
