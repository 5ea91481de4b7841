"""Rules for `channel_properties` values checked at request time (API.md Part B §2.3,
CHANNELS.md per channel). Unknown keys are accepted and ignored."""

import re
from collections.abc import Callable, Mapping

from chorus.kit.errors import FieldViolation

_INT32_MAX = 2**31 - 1


def _boolean(value: str) -> str | None:
    return None if value.lower() in ("true", "false") else "must be true or false"


def _positive_integer(value: str) -> str | None:
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses. The provider's
    # field is a 32-bit integer.
    if re.fullmatch(r"[0-9]+", value) and 1 <= int(value) <= _INT32_MAX:
        return None
    return f"must be a positive integer up to {_INT32_MAX}"


def _one_of(*allowed: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value in allowed else f"must be one of {', '.join(allowed)}"

    return check


RULES: dict[str, Callable[[str], str | None]] = {
    "SMS_FLASH_MESSAGE": _boolean,
    "SMS_MAX_NUMBER_OF_MESSAGE_PARTS": _positive_integer,
    "MMS_STRICT_VALIDATION": _boolean,
    "TELEGRAM_DISABLE_LINK_PREVIEW": _boolean,
    "KAKAOTALK_AUTHENTICATION": _boolean,
    "MESSENGER_MESSAGING_TYPE": _one_of("RESPONSE", "UPDATE", "MESSAGE_TAG"),
    "MESSENGER_NOTIFICATION_TYPE": _one_of("REGULAR", "SILENT_PUSH", "NO_PUSH"),
}


def property_violations(properties: Mapping[str, str], path: str) -> list[FieldViolation]:
    violations = []
    for key, value in properties.items():
        rule = RULES.get(key)
        problem = rule(value) if rule else None
        if problem:
            violations.append(FieldViolation(f"{path}.{key}", problem))
    # CHANNELS.md §1.5: a tag goes only with messaging_type MESSAGE_TAG (its default).
    messaging_type = properties.get("MESSENGER_MESSAGING_TYPE", "MESSAGE_TAG")
    if "MESSENGER_MESSAGE_TAG" in properties and messaging_type != "MESSAGE_TAG":
        violations.append(
            FieldViolation(
                f"{path}.MESSENGER_MESSAGING_TYPE",
                "must be MESSAGE_TAG when MESSENGER_MESSAGE_TAG is set",
            )
        )
    return violations
