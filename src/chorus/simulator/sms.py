"""The simulator's SMS side: a fake of the Sinch SMS REST API ("XMS", CHANNELS.md part 1 §1.3)
and the native callbacks its handsets cause (§1.7).

`POST /simulator/sms/xms/v1/{service_plan_id}/batches` checks what XMS checks — the plan
exists (404), the Bearer token is the plan's (401, XMS's `{"code", "text"}` body), the batch is
well formed (400 `syntax_*`) — answers 201 with the batch, and hands the body to each
recipient's handset. The handset's settings decide the delivery report, which is queued as an
outbox job in the same transaction and posted to the batch's `callback_url` with HTTP Basic
authentication (password: the app's SMS `callback_secret`, when it has one).

Outcome per recipient, in this order:
1. the body needs more parts than `max_number_of_message_parts` → `Aborted`, code 411;
2. the handset is not `reachable`, or its `capability` is NO_CAPABILITY → `Failed`, code 402
   (its `fail_next` is kept);
3. `fail_next` is set → that code, with the status XMS gives it, and `fail_next` clears;
4. `auto_deliver` → `Delivered`, code 0; otherwise no report (`Dispatched`).
SMS has no read receipts: `auto_read` has no effect here.
"""

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from chorus.channels.sms.connector import MSISDN, XMS_BODY_LIMIT
from chorus.channels.sms.segments import sms_parts
from chorus.kit.clock import utcnow
from chorus.kit.db import WriteSession
from chorus.kit.errors import invalid
from chorus.kit.ids import new_id
from chorus.models import App, SimulatedMessage
from chorus.runtime import Runtime
from chorus.simulator import repository
from chorus.simulator.base import (
    SEND_REPORT,
    HandsetMessage,
    SimulatedChannel,
    basic_auth,
    numeric_code,
    parse_json,
    queue_webhook,
)
from chorus.simulator.handsets import settings_of
from chorus.wire.enums import Channel
from chorus.wire.identities import normalise_identity
from chorus.wire.messages import ContactMessage

# The app-side number of a handset's texts when the app's service plan id is not a number.
SIMULATED_SHORT_CODE = "12345"
# MCC-MNC 999-99: reserved for private networks, so it never names a real operator.
SIMULATED_OPERATOR = "99999"

DELIVERY_REPORT_KINDS = ("none", "summary", "full", "per_recipient", "per_recipient_final")
PER_RECIPIENT = ("per_recipient", "per_recipient_final")
MAX_RECIPIENTS = 1000
MAX_CALLBACK_URL = 2048
MAX_CLIENT_REFERENCE = 2048

# Delivery-report codes (§1.7) and the text XMS reports with them.
DELIVERED_CODE = 0
UNROUTABLE = 402
EXCEEDED_PARTS_LIMIT = 411
STATUS_MESSAGES = {
    0: "Delivered",
    402: "Message unroutable",
    403: "Internal error",
    404: "Temporary delivery failure",
    405: "Unmatched parameter",
    406: "Internal expiry",
    407: "Canceled",
    408: "Internal reject",
    410: "Unmatched default originator",
    411: "Exceeded parts limit",
    412: "Unprovisioned region",
    60: "Blocked originator",
    61: "Blocked destination",
    62: "Blocked keyword",
    63: "Blocked by quota",
    64: "Blocked by loop detection",
    65: "Blocked coding",
}
_SCREENING = frozenset({15, 16, 19, *range(60, 68)})

router = APIRouter(prefix="/simulator/sms/xms/v1", tags=["simulator"])


def xms_time(moment: datetime) -> str:
    """XMS timestamps: UTC, milliseconds, `Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def xms_error(status: int, code: str, text: str) -> JSONResponse:
    return JSONResponse({"code": code, "text": text}, status_code=status)


class BatchRefused(Exception):
    def __init__(self, status: int, code: str, text: str) -> None:
        super().__init__(text)
        self.response = xms_error(status, code, text)


# --- outcomes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryOutcome:
    """What happens to one recipient's copy of a batch."""

    status: str  # Delivered | Failed | Rejected | Aborted | Expired | Dispatched
    code: int | None  # None: no delivery report is sent
    consumed_fail_next: bool = False

    @property
    def status_message(self) -> str:
        if self.code is None:
            return self.status
        return STATUS_MESSAGES.get(self.code, f"{self.status} (code {self.code})")


def status_for_code(code: int) -> str:
    """The DLR status XMS reports with a failure code."""
    if code == 406:
        return "Expired"
    if code in (407, EXCEEDED_PARTS_LIMIT):
        return "Aborted"
    if code in _SCREENING:
        return "Rejected"
    return "Failed"


def delivery_outcome(
    settings: dict[str, Any], *, parts: int, max_parts: int | None
) -> DeliveryOutcome:
    if max_parts is not None and parts > max_parts:
        return DeliveryOutcome("Aborted", EXCEEDED_PARTS_LIMIT)
    # NO_CAPABILITY: not a phone that takes SMS, which XMS cannot route to either.
    if not settings.get("reachable", True) or settings.get("capability") == "NO_CAPABILITY":
        return DeliveryOutcome("Failed", UNROUTABLE)
    fail_next = settings.get("fail_next")
    if fail_next is not None:
        code = int(fail_next)
        return DeliveryOutcome(status_for_code(code), code, consumed_fail_next=True)
    if settings.get("auto_deliver", True):
        return DeliveryOutcome("Delivered", DELIVERED_CODE)
    return DeliveryOutcome("Dispatched", None)


# --- the batch endpoint -------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    recipients: list[str]
    body: str
    fields: dict[str, Any]  # every accepted field, as echoed
    max_parts: int | None
    delivery_report: str
    callback_url: str | None
    client_reference: str | None


def validated_batch(raw: bytes) -> Batch:
    try:
        data = parse_json(raw)
    except ValueError:
        raise BatchRefused(
            400, "syntax_invalid_json", "The request body is not valid JSON"
        ) from None
    if not isinstance(data, dict):
        raise BatchRefused(400, "syntax_invalid_json", "The request body must be a JSON object")

    def constraint(text: str) -> BatchRefused:
        return BatchRefused(400, "syntax_constraint_violation", text)

    def bad_format(text: str) -> BatchRefused:
        return BatchRefused(400, "syntax_invalid_parameter_format", text)

    kind = data.get("type", "mt_text")
    if kind != "mt_text":
        if kind == "mt_binary":
            raise constraint("type: mt_binary batches are not simulated")
        raise bad_format(f"Invalid format of parameter 'type': {kind!r}")
    to = data.get("to")
    if not isinstance(to, list) or not to:
        raise constraint("to: must be a list of 1 to 1000 recipients")
    if len(to) > MAX_RECIPIENTS:
        raise constraint(f"to: at most {MAX_RECIPIENTS} recipients")
    recipients: list[str] = []
    for number in to:
        normalised = normalise_identity(Channel.SMS, number) if isinstance(number, str) else ""
        if not MSISDN.match(normalised):
            raise bad_format(f"Invalid format of parameter 'to': {number!r} is not an MSISDN")
        if normalised not in recipients:
            recipients.append(normalised)
    body = data.get("body")
    if not isinstance(body, str):
        raise constraint("body: must be a string")
    if len(body) > XMS_BODY_LIMIT:
        raise constraint(f"body: at most {XMS_BODY_LIMIT} characters, got {len(body)}")
    sender = data.get("from")
    if sender is not None and (not isinstance(sender, str) or not sender):
        raise bad_format("Invalid format of parameter 'from'")
    report = data.get("delivery_report", "none")
    if report not in DELIVERY_REPORT_KINDS:
        raise bad_format(f"Invalid format of parameter 'delivery_report': {report!r}")
    callback_url = data.get("callback_url")
    if callback_url is not None and (
        not isinstance(callback_url, str)
        or not callback_url.startswith(("http://", "https://"))
        or len(callback_url) > MAX_CALLBACK_URL
    ):
        raise bad_format("Invalid format of parameter 'callback_url'")
    reference = data.get("client_reference")
    if reference is not None and (
        not isinstance(reference, str) or len(reference) > MAX_CLIENT_REFERENCE
    ):
        raise bad_format("Invalid format of parameter 'client_reference'")
    flash = data.get("flash_message")
    if flash is not None and not isinstance(flash, bool):
        raise bad_format("Invalid format of parameter 'flash_message'")
    max_parts = data.get("max_number_of_message_parts")
    if max_parts is not None:
        if isinstance(max_parts, str):  # XMS takes "3" as 3 (CHANNELS.md §1.3)
            max_parts = numeric_code(max_parts)
        if isinstance(max_parts, bool) or not isinstance(max_parts, int) or max_parts < 1:
            raise constraint("max_number_of_message_parts: must be an integer of at least 1")
    fields = {key: value for key, value in data.items() if key != "to"}
    fields["type"] = kind
    fields["delivery_report"] = report
    return Batch(
        recipients=recipients,
        body=body,
        fields=fields,
        max_parts=max_parts,
        delivery_report=report,
        callback_url=callback_url,
        client_reference=reference,
    )


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def authorised_app(
    session: AsyncSession, service_plan_id: str, token: str | None, callback_url: str | None
) -> App:
    """The app the batch is sent for: one whose SMS credential names this plan and token
    (the one the callback URL names, when several share the plan)."""
    holders = await repository.apps_with_credential(session, Channel.SMS, service_plan_id)
    if not holders:
        raise BatchRefused(404, "not_found", f"Service plan {service_plan_id} not found")
    if token is None:
        raise BatchRefused(401, "unauthorized", "Missing or malformed Bearer token")
    apps = [
        app
        for app, credential in holders
        if hmac.compare_digest(
            str(credential["static_bearer"].get("token", "")).encode(), token.encode()
        )
    ]
    if not apps:
        raise BatchRefused(401, "unauthorized", "Invalid token for this service plan")
    named = (callback_url or "").rstrip("/").rpartition("/")[2]
    return next((app for app in apps if app.id == named), apps[0])


@router.post("/{service_plan_id}/batches", status_code=201)
async def create_batch(
    service_plan_id: str, request: Request, session: AsyncSession = WriteSession
) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    raw = await request.body()
    try:
        token = bearer_token(request)
        # Authentication comes first, as on XMS; the callback URL only picks among apps.
        try:
            peek = parse_json(raw)
            callback_hint = peek.get("callback_url") if isinstance(peek, dict) else None
        except ValueError:
            callback_hint = None
        app = await authorised_app(
            session,
            service_plan_id,
            token,
            callback_hint if isinstance(callback_hint, str) else None,
        )
        batch = validated_batch(raw)
    except BatchRefused as refused:
        return refused.response
    now = utcnow()
    batch_id = new_id()
    created = {
        "id": batch_id,
        "to": batch.recipients,
        **batch.fields,
        "created_at": xms_time(now),
        "modified_at": xms_time(now),
        "canceled": False,
    }
    callback_url = batch.callback_url or runtime.inbound_url(Channel.SMS, app.id)
    encoding = sms_parts(batch.body)
    for recipient in batch.recipients:
        handset = await repository.handset_for_update(session, Channel.SMS, recipient)
        outcome = delivery_outcome(
            settings_of(handset), parts=encoding.parts, max_parts=batch.max_parts
        )
        if outcome.consumed_fail_next:
            handset.settings = {**handset.settings, "fail_next": None}
        await repository.add_message(
            session,
            SimulatedMessage(
                channel=Channel.SMS,
                identity=recipient,
                direction="received",
                native_id=batch_id,
                text=batch.body,
                request=created,
                status=outcome.status,
                at=now,
            ),
        )
        if outcome.code is None or batch.delivery_report not in PER_RECIPIENT:
            continue
        report = {
            "type": "recipient_delivery_report_sms",
            "batch_id": batch_id,
            "recipient": recipient,
            "code": outcome.code,
            "status": outcome.status,
            "status_message": outcome.status_message,
            "at": xms_time(utcnow()),
            "operator_status_at": xms_time(now),
            "encoding": "GSM" if encoding.encoding == "GSM-7" else "UNICODE",
            "number_of_message_parts": encoding.parts,
        }
        if batch.client_reference is not None:
            report["client_reference"] = batch.client_reference
        await queue_webhook(
            session,
            app,
            Channel.SMS,
            callback_url,
            report,
            dedup_key=f"{SEND_REPORT}:{batch_id}:{recipient}",
            context={"plan_id": service_plan_id},
        )
    return JSONResponse(created, status_code=201)


# --- what a handset sends -------------------------------------------------------------------


def sms_credential(app: App, plan_id: str | None = None) -> dict[str, Any] | None:
    """The app's SMS credential (the one for `plan_id`, when given)."""
    for credential in app.channel_credentials or []:
        if credential.get("channel") != Channel.SMS:
            continue
        bearer = credential.get("static_bearer") or {}
        if plan_id is None or bearer.get("claimed_identity") == plan_id:
            return credential
    return None


def callback_auth(app: App | None, plan_id: str | None = None) -> tuple[str, str] | None:
    """HTTP Basic (user, password) of the SMS callbacks for this app: the password is its SMS
    `callback_secret`; None when it has none."""
    credential = sms_credential(app, plan_id) if app is not None else None
    secret = (credential or {}).get("callback_secret") or ""
    if not secret:
        return None
    plan = ((credential or {}).get("static_bearer") or {}).get("claimed_identity")
    return (plan or "chorus-simulator", secret)


def reply_text(message: ContactMessage) -> str:
    """What a person types on an SMS handset for a contact message: its text, or a media
    message's URL. Other kinds do not exist on SMS."""
    if message.text_message is not None:
        return message.text_message.text
    if message.media_message is not None:
        return message.media_message.url
    raise invalid(
        message.content_kind,
        "an SMS handset sends text only: use text_message (or media_message, sent as its URL)",
    )


def app_side_number(app: App) -> str:
    """The number a handset texts: the app's SMS service plan id when it is a number,
    otherwise the simulated short code."""
    credential = sms_credential(app) or {}
    plan = str((credential.get("static_bearer") or {}).get("claimed_identity") or "")
    return plan if plan.isdigit() else SIMULATED_SHORT_CODE


def mo_text(identity: str, to: str, body: str) -> dict[str, Any]:
    now = xms_time(utcnow())
    return {
        "type": "mo_text",
        "id": new_id(),
        "from": identity,
        "to": to,
        "body": body,
        "operator_id": SIMULATED_OPERATOR,
        "sent_at": now,
        "received_at": now,
    }


class SmsSimulator(SimulatedChannel):
    channel = Channel.SMS
    router = router

    def handset_message(self, app: App, identity: str, message: ContactMessage) -> HandsetMessage:
        text = reply_text(message)
        native = mo_text(identity, app_side_number(app), text)
        return HandsetMessage(native=native, native_id=native["id"], text=text)

    def check_fail_next(self, value: Any) -> Any:
        """An XMS delivery-report code: an integer 0-999."""
        code = numeric_code(value)
        return code if code is not None and code <= 999 else None

    def webhook_headers(
        self, app: App | None, body: bytes, context: dict[str, Any]
    ) -> dict[str, str]:
        auth = callback_auth(app, context.get("plan_id"))
        return {"authorization": basic_auth(*auth)} if auth else {}


SIMULATOR = SmsSimulator()
