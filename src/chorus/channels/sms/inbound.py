"""SMS callbacks: verification and mapping (CHANNELS.md part 1 §1.7).

The SMS REST API does not sign its callbacks; it calls back with HTTP Basic authentication.
With a `callback_secret` the Basic password must equal it (any user name; compared with
`hmac.compare_digest`). Without one, callbacks are accepted only while the simulator is on
(Decision 2).

Two shapes arrive, told apart by `type`: `mo_text` (a contact's text) and
`recipient_delivery_report_sms` (a per-recipient delivery report). `mo_binary` and any other
type are reported as unsupported, with the raw payload.
"""

import base64
import binascii
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from chorus.channels.base import (
    InboundItem,
    InboundMessage,
    InboundRejected,
    NativeRequest,
    StatusReport,
    Unmapped,
)
from chorus.wire.enums import Channel
from chorus.wire.identities import normalise_identity
from chorus.wire.messages import ReasonCode

MO_TEXT = "mo_text"
MO_BINARY = "mo_binary"
DELIVERY_REPORT = "recipient_delivery_report_sms"

DELIVERED = "Delivered"
FAILED_STATUSES = frozenset({"Failed", "Rejected", "Aborted", "Expired"})


def verify_callback(
    request: NativeRequest, credential: Mapping[str, Any], *, simulator_on: bool
) -> None:
    secret = credential.get("callback_secret") or ""
    if not secret:
        if simulator_on:
            return
        raise InboundRejected(
            401, "the app's SMS credential has no callback_secret; callbacks are refused"
        )
    password = basic_password(request.headers.get("authorization", ""))
    if password is None:
        raise InboundRejected(401, "HTTP Basic authentication is required")
    if not hmac.compare_digest(password.encode(), str(secret).encode()):
        raise InboundRejected(401, "the HTTP Basic password does not match the callback_secret")


def basic_password(authorization: str) -> str | None:
    """The password of an `Authorization: Basic base64(user:password)` header."""
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    _user, colon, password = decoded.partition(":")
    return password if colon else None


def parse_callback(request: NativeRequest) -> list[InboundItem]:
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise InboundRejected(400, "the SMS callback is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InboundRejected(400, "the SMS callback must be a JSON object")
    kind = payload.get("type")
    if kind == MO_TEXT:
        return [_mo_text(payload)]
    if kind == DELIVERY_REPORT:
        return [_delivery_report(payload)]
    raw = request.body.decode("utf-8", errors="replace")
    identity = payload.get("from")
    identity = normalise_identity(Channel.SMS, identity) if isinstance(identity, str) else None
    if kind == MO_BINARY:
        return [Unmapped(raw, identity=identity, description="binary SMS (mo_binary)")]
    return [Unmapped(raw, identity=identity, description=f"unknown SMS callback type {kind!r}")]


def _mo_text(payload: dict[str, Any]) -> InboundMessage:
    sender, body = payload.get("from"), payload.get("body")
    if not isinstance(sender, str) or not sender:
        raise InboundRejected(400, "mo_text without `from`")
    if not isinstance(body, str):
        raise InboundRejected(400, "mo_text without `body`")
    operator = payload.get("operator_id")
    to = payload.get("to")
    return InboundMessage(
        identity=normalise_identity(Channel.SMS, sender),
        contact_message={"text_message": {"text": body}},
        native_id=str(payload.get("id") or ""),
        sender_id=str(to) if to else None,
        at=parse_time(payload.get("received_at")) or parse_time(payload.get("sent_at")),
        metadata=json.dumps({"operator": str(operator)}, separators=(",", ":")) if operator else "",
        reply_text=body,
    )


def _delivery_report(payload: dict[str, Any]) -> StatusReport:
    batch_id = payload.get("batch_id")
    if not isinstance(batch_id, str) or not batch_id:
        raise InboundRejected(400, "recipient_delivery_report_sms without `batch_id`")
    recipient = payload.get("recipient")
    status = str(payload.get("status") or "")
    reference = payload.get("client_reference")
    common: dict[str, Any] = {
        "native_id": batch_id,
        "message_id": str(reference) if reference else None,
        "identity": normalise_identity(Channel.SMS, recipient)
        if isinstance(recipient, str)
        else None,
        "at": parse_time(payload.get("at")),
    }
    if status == DELIVERED:
        return StatusReport(status="DELIVERED", **common)
    if status in FAILED_STATUSES:
        code = payload.get("code")
        reason = {
            "code": dlr_reason(status, code).value,
            "description": str(payload.get("status_message") or status),
            "sub_code": "UNSPECIFIED_SUB_CODE",
            "channel_code": str(code) if code is not None else status,
        }
        return StatusReport(status="FAILED", reason=reason, **common)
    # Queued, Dispatched, Unknown (no receipt from the operator): nothing changes.
    return StatusReport(status="", **common)


# The §1.7 delivery-report code table.
_NOT_REACHABLE = frozenset({402, 408, 9, 10, 11, 12, 13, 17, 404, 14})
_POLICY = frozenset({15, 16, 19, *range(60, 68)})
_BAD_CONFIGURATION = frozenset({410, 412})


def dlr_reason(status: str, code: Any) -> ReasonCode:
    """The reason of a failed delivery report, by its `code` (and `status` for Expired)."""
    if status == "Expired":
        return ReasonCode.DELIVERY_TIMED_OUT
    try:
        number = int(code)
    except (TypeError, ValueError, OverflowError):  # OverflowError: 1e999
        return ReasonCode.CHANNEL_FAILURE
    if number in _NOT_REACHABLE or (number == 0 and status == "Failed"):
        return ReasonCode.RECIPIENT_NOT_REACHABLE
    if number in _POLICY:
        return ReasonCode.DELIVERY_REJECTED_DUE_TO_POLICY
    if number == 406:
        return ReasonCode.DELIVERY_TIMED_OUT
    if number in _BAD_CONFIGURATION:
        return ReasonCode.CHANNEL_BAD_CONFIGURATION
    if number == 411:
        return ReasonCode.MESSAGE_SPLIT_REQUIRED
    if number == 405:
        return ReasonCode.BAD_REQUEST
    return ReasonCode.CHANNEL_FAILURE


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
