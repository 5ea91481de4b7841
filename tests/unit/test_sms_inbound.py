"""SMS callbacks (CHANNELS.md part 1 §1.7): Basic-auth verification, the native shapes, the
delivery-report code table, and typed replies naming an option."""

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from chorus.channels.base import (
    InboundMessage,
    InboundRejected,
    NativeRequest,
    ReplyOption,
    StatusReport,
    Unmapped,
)
from chorus.channels.sms.plugin import SmsChannel
from chorus.wire.messages import AppMessage, ReasonCode

SMS = SmsChannel()
SECRET = "s3cret"
WITH_SECRET = {
    "channel": "SMS",
    "static_bearer": {"claimed_identity": "plan", "token": "t"},
    "callback_secret": SECRET,
}
WITHOUT_SECRET = {**WITH_SECRET, "callback_secret": ""}

MO_TEXT = {
    "type": "mo_text",
    "id": "01FC66621XXXXX119Z8PMV1QPQ",
    "from": "46732000000",
    "to": "12345",
    "body": "2",
    "operator_id": "24001",
    "sent_at": "2024-05-01T10:00:00.000Z",
    "received_at": "2024-05-01T10:00:01.120Z",
}


def dlr(status: str, code: int, **extra: Any) -> dict[str, Any]:
    return {
        "type": "recipient_delivery_report_sms",
        "batch_id": "BATCH",
        "recipient": "46732000000",
        "code": code,
        "status": status,
        "status_message": f"{status} message",
        "at": "2024-05-01T10:00:05.542Z",
        "operator_status_at": "2024-05-01T10:00:05.101Z",
        "client_reference": "MSGID",
        **extra,
    }


def request(payload: Any, *, authorization: str | None = None) -> NativeRequest:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"content-type": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization
    return NativeRequest(app_id="APP", headers=headers, body=body)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def parse_one(payload: Any) -> Any:
    items = SMS.parse_inbound(request(payload))
    assert len(items) == 1
    return items[0]


# --- verification ----------------------------------------------------------------------------


@pytest.mark.parametrize("simulator_on", [True, False])
def test_the_secret_as_basic_password_is_accepted_with_any_user(simulator_on: bool) -> None:
    for user in ("plan", "", "anyone"):
        SMS.verify(
            request(MO_TEXT, authorization=basic(user, SECRET)),
            WITH_SECRET,
            simulator_on=simulator_on,
        )


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        basic("plan", "wrong"),
        basic("plan", SECRET + "x"),
        basic("plan", ""),
        "Bearer " + SECRET,
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(SECRET.encode()).decode(),  # no colon
    ],
)
def test_a_missing_or_wrong_password_is_rejected_with_401(authorization: str | None) -> None:
    with pytest.raises(InboundRejected) as caught:
        SMS.verify(request(MO_TEXT, authorization=authorization), WITH_SECRET, simulator_on=True)
    assert caught.value.status == 401


def test_without_a_secret_callbacks_are_accepted_only_while_the_simulator_is_on() -> None:
    SMS.verify(request(MO_TEXT), WITHOUT_SECRET, simulator_on=True)
    SMS.verify(request(MO_TEXT), {"channel": "SMS"}, simulator_on=True)
    with pytest.raises(InboundRejected) as caught:
        SMS.verify(request(MO_TEXT), WITHOUT_SECRET, simulator_on=False)
    assert caught.value.status == 401


# --- native shapes ---------------------------------------------------------------------------


def test_mo_text_is_a_text_message_from_the_sender() -> None:
    item = parse_one(MO_TEXT)
    assert item == InboundMessage(
        identity="46732000000",
        contact_message={"text_message": {"text": "2"}},
        native_id="01FC66621XXXXX119Z8PMV1QPQ",
        sender_id="12345",
        at=datetime(2024, 5, 1, 10, 0, 1, 120000, tzinfo=UTC),
        metadata='{"operator":"24001"}',  # compact, as API.md §8.3 shows it
        reply_text="2",
    )


def test_mo_text_without_operator_has_no_metadata_and_normalises_the_sender() -> None:
    payload = {**MO_TEXT, "from": "+46732000000"}
    del payload["operator_id"]
    item = parse_one(payload)
    assert item.identity == "46732000000"
    assert item.metadata == ""


@pytest.mark.parametrize("missing", ["from", "body"])
def test_mo_text_without_sender_or_body_is_a_bad_request(missing: str) -> None:
    payload = {key: value for key, value in MO_TEXT.items() if key != missing}
    with pytest.raises(InboundRejected) as caught:
        SMS.parse_inbound(request(payload))
    assert caught.value.status == 400


def test_mo_binary_is_unmapped_with_the_raw_payload() -> None:
    payload = {**MO_TEXT, "type": "mo_binary", "body": "AAEC", "udh": "050003"}
    item = parse_one(payload)
    assert isinstance(item, Unmapped)
    assert json.loads(item.payload) == payload
    assert item.identity == "46732000000"


def test_an_unknown_type_is_unmapped() -> None:
    item = parse_one({"type": "delivery_report_sms", "batch_id": "B"})
    assert isinstance(item, Unmapped)
    assert json.loads(item.payload)["type"] == "delivery_report_sms"
    assert isinstance(parse_one({"no": "type"}), Unmapped)


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe", b"[1, 2]", b'"text"'])
def test_bad_json_is_rejected_with_400(body: bytes) -> None:
    with pytest.raises(InboundRejected) as caught:
        SMS.parse_inbound(request(body))
    assert caught.value.status == 400


# --- delivery reports ------------------------------------------------------------------------


def test_delivered_report() -> None:
    item = parse_one(dlr("Delivered", 0))
    assert item == StatusReport(
        status="DELIVERED",
        native_id="BATCH",
        message_id="MSGID",
        identity="46732000000",
        at=datetime(2024, 5, 1, 10, 0, 5, 542000, tzinfo=UTC),
    )


@pytest.mark.parametrize("status", ["Queued", "Dispatched", "Unknown"])
def test_reports_that_change_nothing(status: str) -> None:
    item = parse_one(dlr(status, 401))
    assert isinstance(item, StatusReport)
    assert (item.status, item.reason, item.native_id) == ("", None, "BATCH")


@pytest.mark.parametrize(
    ("status", "code", "reason"),
    [
        ("Failed", 402, ReasonCode.RECIPIENT_NOT_REACHABLE),
        ("Failed", 408, ReasonCode.RECIPIENT_NOT_REACHABLE),
        *[("Failed", c, ReasonCode.RECIPIENT_NOT_REACHABLE) for c in (9, 10, 11, 12, 13, 17)],
        ("Failed", 404, ReasonCode.RECIPIENT_NOT_REACHABLE),
        ("Failed", 14, ReasonCode.RECIPIENT_NOT_REACHABLE),
        ("Failed", 0, ReasonCode.RECIPIENT_NOT_REACHABLE),
        *[
            ("Rejected", c, ReasonCode.DELIVERY_REJECTED_DUE_TO_POLICY)
            for c in (15, 16, 19, 60, 61, 62, 63, 64, 65, 66, 67)
        ],
        ("Failed", 406, ReasonCode.DELIVERY_TIMED_OUT),
        ("Expired", 406, ReasonCode.DELIVERY_TIMED_OUT),
        ("Expired", 0, ReasonCode.DELIVERY_TIMED_OUT),
        ("Failed", 410, ReasonCode.CHANNEL_BAD_CONFIGURATION),
        ("Failed", 412, ReasonCode.CHANNEL_BAD_CONFIGURATION),
        ("Aborted", 411, ReasonCode.MESSAGE_SPLIT_REQUIRED),
        ("Failed", 405, ReasonCode.BAD_REQUEST),
        ("Aborted", 407, ReasonCode.CHANNEL_FAILURE),
        ("Failed", 403, ReasonCode.CHANNEL_FAILURE),
        *[("Failed", c, ReasonCode.CHANNEL_FAILURE) for c in (1, 5, 8, 18, 40, 56, 70, 999)],
        # 0 is "not reachable" only with Failed; with another status it is anything else.
        ("Rejected", 0, ReasonCode.CHANNEL_FAILURE),
        ("Aborted", 0, ReasonCode.CHANNEL_FAILURE),
        ("Failed", 1e999, ReasonCode.CHANNEL_FAILURE),  # was an OverflowError: the report lost
    ],
)
def test_failed_reports_map_their_code(status: str, code: int, reason: ReasonCode) -> None:
    item = parse_one(dlr(status, code))
    assert isinstance(item, StatusReport)
    assert item.status == "FAILED"
    assert item.reason == {
        "code": reason.value,
        "description": f"{status} message",
        "sub_code": "UNSPECIFIED_SUB_CODE",
        "channel_code": str(code),
    }
    assert (item.native_id, item.message_id, item.identity) == ("BATCH", "MSGID", "46732000000")


def test_a_report_without_client_reference_still_names_the_batch() -> None:
    payload = dlr("Delivered", 0)
    del payload["client_reference"]
    item = parse_one(payload)
    assert (item.native_id, item.message_id) == ("BATCH", None)


def test_a_report_without_batch_id_is_a_bad_request() -> None:
    payload = dlr("Delivered", 0)
    del payload["batch_id"]
    with pytest.raises(InboundRejected):
        SMS.parse_inbound(request(payload))


# --- plugin: transcoding, identities, typed replies -------------------------------------------

OPTIONS = [
    ReplyOption(1, "Yes", "newsletter_yes"),
    ReplyOption(2, "No", "newsletter_no"),
    ReplyOption(3, "Shop", None),
]


def test_transcode_carries_the_body_and_the_numbered_options() -> None:
    message = AppMessage.model_validate(
        {
            "choice_message": {
                "text_message": {"text": "Newsletter?"},
                "choices": [
                    {"text_message": {"text": "Yes"}, "postback_data": "newsletter_yes"},
                    {"url_message": {"title": "Shop", "url": "https://shop.example.com"}},
                ],
            }
        }
    )
    transcoded = SMS.transcode(message, message_id="M")
    assert transcoded.native == "Newsletter?\n1. Yes\n2. Shop: https://shop.example.com"
    assert transcoded.wire == transcoded.native
    assert list(transcoded.options) == [
        ReplyOption(1, "Yes", "newsletter_yes"),
        ReplyOption(2, "Shop", None),
    ]


@pytest.mark.parametrize(
    ("identity", "valid"),
    [
        ("46732000000", True),
        ("1234567", True),
        ("123456789012345", True),
        ("123456", False),
        ("1234567890123456", False),
        ("046732000000", False),
        ("+46732000000", False),
        ("4673200000a", False),
    ],
)
def test_identity_validation(identity: str, valid: bool) -> None:
    assert SMS.identity_is_valid(identity) is valid


@pytest.mark.parametrize(
    ("reply", "number"),
    [
        ("1", 1),
        (" 2 \n", 2),
        ("02", 2),
        ("yes", 1),
        ("  NO ", 2),
        ("shop", 3),
        ("4", None),
        ("0", None),
        ("maybe", None),
        ("", None),
        ("1.", None),
    ],
)
def test_match_reply_by_number_or_label(reply: str, number: int | None) -> None:
    option = SMS.match_reply(reply, OPTIONS)
    assert (option.number if option else None) == number


def test_a_number_with_no_such_option_may_still_match_a_label() -> None:
    options = [ReplyOption(1, "2024", "year")]
    assert SMS.match_reply("2024", options) == options[0]
