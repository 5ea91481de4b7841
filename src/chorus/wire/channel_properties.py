"""Rules for `channel_properties` values checked at request time (API.md Part B §2.3,
CHANNELS.md per channel). Unknown keys are accepted and ignored."""

from collections.abc import Callable, Mapping

from chorus.kit.errors import FieldViolation


def _boolean(value: str) -> str | None:
    return None if value.lower() in ("true", "false") else "must be true or false"


def _positive_integer(value: str) -> str | None:
    return None if value.isdigit() and int(value) >= 1 else "must be a positive integer"


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
    return violations
