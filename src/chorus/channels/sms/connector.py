"""The SMS connector: one batch per message through the Sinch SMS REST API, "XMS"
(CHANNELS.md part 1 §1.3).

`POST {base}/xms/v1/{service_plan_id}/batches` with `Authorization: Bearer {token}`, both taken
from the app's `static_bearer` credential. What chorus can decide without the channel — a
credential without a plan, an invalid MSISDN, a body over 2000 characters, more parts than
`SMS_MAX_NUMBER_OF_MESSAGE_PARTS` allows — fails before any call. Every native answer maps to
a `ChannelFailure` by the §1.3 table; 429, 5xx, timeouts and connection errors are transient.
"""

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from chorus.channels.base import Accepted, ChannelFailure, Dispatch, json_object
from chorus.channels.sms.segments import sms_parts
from chorus.wire.messages import ReasonCode

XMS_BODY_LIMIT = 2000
SENDER = "SMS_SENDER"
FLASH_MESSAGE = "SMS_FLASH_MESSAGE"
MAX_PARTS = "SMS_MAX_NUMBER_OF_MESSAGE_PARTS"

MSISDN = re.compile(r"^[1-9][0-9]{6,14}$")

# A 400 `syntax_invalid_parameter_format` is about the recipient when its text names `to`
# (quoted, indexed, or as "parameter to"/"to:"), a recipient or an MSISDN.
_ABOUT_RECIPIENT = re.compile(
    r"""['"`]to['"`]|\bto\[\d*\]|\bto\s*:|\b(?:parameter|field)\s+to\b|^to\b|recipient|msisdn""",
    re.IGNORECASE,
)


def service_plan(credential: Mapping[str, Any]) -> tuple[str, str] | None:
    """(service plan id, token) of an SMS credential, or None for the `sms_credentials` form
    (or an incomplete `static_bearer`)."""
    bearer = credential.get("static_bearer") or {}
    plan, token = bearer.get("claimed_identity"), bearer.get("token")
    if not plan or not token:
        return None
    return str(plan), str(token)


def batch_request(dispatch: Dispatch) -> dict[str, Any]:
    """The XMS batch for one dispatch (the fields of §1.3, in its order). Raises
    ChannelFailure for what fails without a call."""
    body = dispatch.transcoded.native
    if not isinstance(body, str):
        raise ChannelFailure(ReasonCode.BAD_REQUEST, "the SMS body must be text")
    if not MSISDN.match(dispatch.identity):
        raise ChannelFailure(
            ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY,
            f"{dispatch.identity!r} is not a valid MSISDN (E.164 digits, no leading +)",
        )
    if len(body) > XMS_BODY_LIMIT:
        raise ChannelFailure(
            ReasonCode.BAD_REQUEST,
            f"the SMS body has {len(body)} characters; the limit is {XMS_BODY_LIMIT}",
        )
    properties = dispatch.properties
    batch: dict[str, Any] = {}
    if properties.get(SENDER):
        batch["from"] = properties[SENDER]
    batch.update(
        {
            "to": [dispatch.identity],
            "body": body,
            "type": "mt_text",
            "delivery_report": "per_recipient",
            "callback_url": dispatch.inbound_url,
            "client_reference": dispatch.message_id,
        }
    )
    flash = properties.get(FLASH_MESSAGE)
    if flash is not None:
        batch["flash_message"] = str(flash).strip().lower() == "true"
    if properties.get(MAX_PARTS) is not None:
        max_parts = _positive_int(properties[MAX_PARTS])
        if max_parts is None:
            raise ChannelFailure(ReasonCode.BAD_REQUEST, f"{MAX_PARTS} must be a positive integer")
        needed = sms_parts(body).parts
        if needed > max_parts:
            raise ChannelFailure(
                ReasonCode.MESSAGE_SPLIT_REQUIRED,
                f"the body needs {needed} SMS parts; {MAX_PARTS} allows {max_parts}",
            )
        batch["max_number_of_message_parts"] = max_parts
    return batch


async def send_batch(http: httpx.AsyncClient, base_url: str, dispatch: Dispatch) -> Accepted:
    plan = service_plan(dispatch.credential)
    if plan is None:
        raise ChannelFailure(
            ReasonCode.CHANNEL_BAD_CONFIGURATION,
            "the app's SMS credential has no service plan id and token (static_bearer)",
        )
    plan_id, token = plan
    batch = batch_request(dispatch)
    url = f"{base_url.rstrip('/')}/xms/v1/{plan_id}/batches"
    try:
        response = await http.post(url, json=batch, headers={"Authorization": f"Bearer {token}"})
    except httpx.TimeoutException as exc:
        raise ChannelFailure(
            ReasonCode.CHANNEL_FAILURE, f"the SMS API timed out: {exc!r}", transient=True
        ) from exc
    except httpx.TransportError as exc:
        raise ChannelFailure(
            ReasonCode.CHANNEL_FAILURE, f"the SMS API is unreachable: {exc!r}", transient=True
        ) from exc
    if response.status_code in (200, 201):
        batch_id = json_object(response).get("id")
        if isinstance(batch_id, str) and batch_id:
            return Accepted(native_id=batch_id)
        raise ChannelFailure(
            ReasonCode.CHANNEL_FAILURE,
            "the SMS API accepted the batch but returned no batch id",
            channel_code=str(response.status_code),
            transient=True,
        )
    raise failure_from_response(response)


def failure_from_response(response: httpx.Response) -> ChannelFailure:
    """The §1.3 error table: the native code (the body's `code`, else the HTTP status) becomes
    `channel_code`, the native text the description."""
    status = response.status_code
    error = json_object(response)
    native_code = str(error.get("code") or status)
    text = str(error.get("text") or response.reason_phrase or f"HTTP {status}")

    def failure(code: ReasonCode, **kwargs: Any) -> ChannelFailure:
        return ChannelFailure(code, text, channel_code=native_code, **kwargs)

    if status == 400:
        if native_code == "syntax_invalid_parameter_format" and _ABOUT_RECIPIENT.search(text):
            return failure(ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY)
        return failure(ReasonCode.BAD_REQUEST)
    if status == 401:
        return failure(ReasonCode.CHANNEL_BAD_CONFIGURATION)
    if status == 403:
        if native_code == "illegal_number_type":
            return failure(ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY)
        return failure(ReasonCode.CHANNEL_BAD_CONFIGURATION)
    if status == 404:
        return failure(ReasonCode.CHANNEL_BAD_CONFIGURATION)
    if status == 429:
        return failure(
            ReasonCode.RATE_LIMITED,
            transient=True,
            retry_after=retry_after(response.headers.get("retry-after")),
        )
    if status >= 500 or status == 408:
        return failure(ReasonCode.CHANNEL_FAILURE, transient=True)
    if 400 <= status < 500:
        return failure(ReasonCode.BAD_REQUEST)
    return failure(ReasonCode.CHANNEL_FAILURE)


def retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _positive_int(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number >= 1 else None
