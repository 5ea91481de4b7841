"""Simulated handsets: their settings, how a control request names one, and how they are shown.

A handset is `(channel, identity)`. It exists from its first use — a PATCH of its settings, a
message it sends, or the first delivery to it. Its settings:

| Setting | Type | Default | Effect |
|---|---|---|---|
| `reachable` | bool | true | false: every delivery fails (SMS: DLR code 402) |
| `capability` | a capability status | `CAPABILITY_FULL` | lookups answer it; NO_CAPABILITY: fails |
| `auto_deliver` | bool | true | report delivery by itself |
| `auto_read` | bool | true | report reading by itself (channels with read receipts) |
| `subscribed` | bool | true | Viber Bot, VIBERBM, Telegram; a change is posted (`control`) |
| `fail_next` | a native code, or null | null | the next delivery fails with it, then it clears |
"""

from typing import Any

from chorus.channels.sms.connector import MSISDN
from chorus.kit.clock import rfc3339
from chorus.kit.errors import ApiError, FieldViolation, invalid, invalid_fields
from chorus.models import SimulatedHandset, SimulatedMessage
from chorus.simulator.registry import simulator_for
from chorus.wire.enums import MSISDN_CHANNELS, Channel
from chorus.wire.identities import normalise_identity

DEFAULT_SETTINGS: dict[str, Any] = {
    "reachable": True,
    "capability": "CAPABILITY_FULL",
    "auto_deliver": True,
    "auto_read": True,
    "subscribed": True,
    "fail_next": None,
    # WhatsApp only: the number WhatsApp knows the user by (`wa_id`), when it differs from
    # the one a business sends to (CHANNELS.md part 1 §2.1).
    "wa_id": None,
}
BOOLEAN_SETTINGS = ("reachable", "auto_deliver", "auto_read", "subscribed")
CAPABILITY_STATUSES = (
    "CAPABILITY_UNKNOWN",
    "CAPABILITY_FULL",
    "CAPABILITY_PARTIAL",
    "NO_CAPABILITY",
)


def channel_from_path(name: str) -> Channel:
    """`{channel}` of a control path: lower case as in `/inbound/{channel}`, upper accepted."""
    try:
        channel = Channel(name.upper())
    except ValueError:
        raise ApiError(404, f"unknown channel {name!r}") from None
    if simulator_for(channel) is None:
        raise ApiError(404, f"channel {channel.value} not simulated yet")
    return channel


def identity_from_path(channel: Channel, identity: str) -> str:
    """`{identity}` of a control path in its normal form; one the channel could not have
    (not an MSISDN, a PSID, a Viber user id…) is refused, as no delivery could reach it."""
    normalised = normalise_identity(channel, identity.strip())
    if channel in MSISDN_CHANNELS and not MSISDN.match(normalised):
        raise invalid("identity", f"{identity!r} is not an MSISDN (E.164, 7-15 digits)")
    simulator = simulator_for(channel)
    if simulator is not None and not simulator.valid_identity(normalised):
        raise invalid("identity", f"{identity!r} is not a {channel.value} identity")
    return normalised


def settings_of(handset: SimulatedHandset | None) -> dict[str, Any]:
    """The effective settings: the defaults overlaid with what was set."""
    return {**DEFAULT_SETTINGS, **(handset.settings if handset is not None else {})}


def validated_changes(channel: Channel, body: Any) -> dict[str, Any]:
    """The settings a PATCH body sets, type-checked; unknown keys are refused."""
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object of handset settings")
    violations: list[FieldViolation] = []
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if key not in DEFAULT_SETTINGS:
            known = ", ".join(DEFAULT_SETTINGS)
            violations.append(FieldViolation(key, f"is not a handset setting (known: {known})"))
        elif key in BOOLEAN_SETTINGS:
            if isinstance(value, bool):
                changes[key] = value
            else:
                violations.append(FieldViolation(key, "must be true or false"))
        elif key == "capability":
            if value in CAPABILITY_STATUSES:
                changes[key] = value
            else:
                violations.append(
                    FieldViolation(key, f"must be one of {', '.join(CAPABILITY_STATUSES)}")
                )
        elif key == "wa_id":
            problem = _wa_id_problem(channel, value)
            if problem:
                violations.append(FieldViolation(key, problem))
            else:
                changes[key] = None if value is None else normalise_identity(channel, value)
        elif key == "fail_next":
            code = native_error_code(channel, value)
            if code is None and value is not None:
                violations.append(
                    FieldViolation(key, f"must be a native {channel.value} error code, or null")
                )
            else:
                changes[key] = code
    if violations:
        raise invalid_fields(violations)
    return changes


def _wa_id_problem(channel: Channel, value: Any) -> str | None:
    if channel != Channel.WHATSAPP:
        return "only WhatsApp handsets have a wa_id"
    if value is None:
        return None
    if not isinstance(value, str) or not MSISDN.match(normalise_identity(channel, value)):
        return "must be an MSISDN (E.164, 7-15 digits), or null"
    return None


def native_error_code(channel: Channel, value: Any) -> Any:
    """A `fail_next` value in the channel's own form, or None when it is not one of its
    error codes (each simulated channel knows its codes)."""
    simulator = simulator_for(channel)
    return simulator.check_fail_next(value) if simulator is not None else None


def handset_summary(handset: SimulatedHandset) -> dict[str, Any]:
    return {
        "channel": handset.channel,
        "identity": handset.identity,
        "settings": settings_of(handset),
        "created_at": rfc3339(handset.created_at),
    }


def inbox_entry(message: SimulatedMessage) -> dict[str, Any]:
    return {
        "id": str(message.id),
        "direction": message.direction,
        "native_id": message.native_id,
        "text": message.text,
        "status": message.status,
        "at": rfc3339(message.at),
        "request": message.request,
    }


def handset_view(handset: SimulatedHandset, inbox: list[SimulatedMessage]) -> dict[str, Any]:
    return {**handset_summary(handset), "inbox": [inbox_entry(m) for m in inbox]}
