"""VIBERBM callbacks (CHANNELS.md part 2 §2.7, chorus-owned): `X-Chorus-Signature`
verification, every native kind, and typed replies naming a numbered option."""

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from chorus.channels.base import (
    ConsentChange,
    InboundMessage,
    InboundRejected,
    NativeRequest,
    ReplyOption,
    StatusReport,
    Unmapped,
)
from chorus.channels.viberbm.plugin import PLUGIN
from chorus.wire.messages import ReasonCode

SECRET = "bm-callback-secret"
WITH_SECRET = {
    "channel": "VIBERBM",
    "static_bearer": {"claimed_identity": "SVC1", "token": "t"},
    "callback_secret": SECRET,
}
WITHOUT_SECRET = {k: v for k, v in WITH_SECRET.items() if k != "callback_secret"}


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def request(payload: dict[str, Any], headers: dict[str, str] | None = None) -> NativeRequest:
    body = json.dumps(payload).encode()
    return NativeRequest(app_id="APP", headers=headers or {}, body=body)


def parse(payload: dict[str, Any]) -> list[Any]:
    return PLUGIN.parse_inbound(request(payload))


def message(content: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "id": "vbm_mo_81a2",
        "service_id": "SVC1",
        "sender": "46732000000",
        "timestamp": "2024-05-01T10:00:00Z",
        "content": content,
        **extra,
    }


# --- verification ------------------------------------------------------------------------------


def test_a_correct_signature_is_accepted() -> None:
    native = request(message({"type": "text", "text": "hi"}))
    signed = NativeRequest("APP", {"x-chorus-signature": sign(native.body)}, native.body)
    PLUGIN.verify(signed, WITH_SECRET, simulator_on=False)


def test_a_missing_signature_is_rejected() -> None:
    with pytest.raises(InboundRejected) as rejected:
        PLUGIN.verify(request({"type": "message"}), WITH_SECRET, simulator_on=True)
    assert rejected.value.status == 401


def test_a_wrong_signature_is_rejected() -> None:
    native = request({"type": "message"})
    wrong = NativeRequest("APP", {"x-chorus-signature": "sha256=" + "0" * 64}, native.body)
    with pytest.raises(InboundRejected) as rejected:
        PLUGIN.verify(wrong, WITH_SECRET, simulator_on=True)
    assert rejected.value.status == 401


def test_a_signature_with_another_secret_is_rejected() -> None:
    native = request({"type": "message"})
    other = NativeRequest("APP", {"x-chorus-signature": sign(native.body, "other")}, native.body)
    with pytest.raises(InboundRejected):
        PLUGIN.verify(other, WITH_SECRET, simulator_on=True)


def test_a_signature_over_other_bytes_is_rejected() -> None:
    native = request({"type": "message", "a": 1})
    tampered = NativeRequest(
        "APP", {"x-chorus-signature": sign(native.body)}, native.body.replace(b"1", b"2")
    )
    with pytest.raises(InboundRejected):
        PLUGIN.verify(tampered, WITH_SECRET, simulator_on=True)


def test_without_a_callback_secret_only_the_simulator_is_trusted() -> None:
    PLUGIN.verify(request({"type": "message"}), WITHOUT_SECRET, simulator_on=True)
    with pytest.raises(InboundRejected) as rejected:
        PLUGIN.verify(request({"type": "message"}), WITHOUT_SECRET, simulator_on=False)
    assert rejected.value.status == 401


# --- contact messages --------------------------------------------------------------------------


def test_a_text_is_a_text_message_from_the_sender() -> None:
    [item] = parse(message({"type": "text", "text": "Hello there"}))
    assert item == InboundMessage(
        identity="46732000000",
        contact_message={"text_message": {"text": "Hello there"}},
        native_id="vbm_mo_81a2",
        sender_id="SVC1",
        at=datetime(2024, 5, 1, 10, 0, tzinfo=UTC),
        reply_text="Hello there",
    )


def test_a_sender_with_a_plus_is_normalised() -> None:
    [item] = parse({**message({"type": "text", "text": "x"}), "sender": "+46732000000"})
    assert item.identity == "46732000000"


@pytest.mark.parametrize("kind", ["image", "video", "file"])
def test_media_is_a_media_message(kind: str) -> None:
    url = f"https://media.viber.example/{kind}"
    [item] = parse(message({"type": kind, "url": url, "name": "n"}))
    assert item.contact_message == {"media_message": {"url": url}}
    assert item.reply_text is None


def test_media_with_a_caption_is_a_media_card_message() -> None:
    [item] = parse(message({"type": "image", "url": "https://m.example/p.jpg", "caption": "Me"}))
    assert item.contact_message == {
        "media_card_message": {"url": "https://m.example/p.jpg", "caption": "Me"}
    }


def test_a_location_is_a_location_message() -> None:
    [item] = parse(message({"type": "location", "lat": 59.3251, "lon": 18.0711}))
    assert item.contact_message == {
        "location_message": {
            "coordinates": {"latitude": 59.3251, "longitude": 18.0711},
            "title": "",
        }
    }


@pytest.mark.parametrize(
    "content",
    [
        {"type": "sticker", "sticker_id": "40100"},
        {"type": "hologram"},
        {"type": "location", "lat": 1e999, "lon": 18.0711},  # was stored as null
    ],
)
def test_stickers_and_unknown_content_are_fallback_messages(content: dict[str, Any]) -> None:
    [item] = parse(message(content))
    fallback = item.contact_message["fallback_message"]
    assert json.loads(fallback["raw_message"]) == content
    assert fallback["reason"]["code"] == ReasonCode.UNSUPPORTED_OPERATION.value


def test_a_numbered_reply_names_the_option_of_a_degraded_choice() -> None:
    options = [ReplyOption(1, "Track order", "track"), ReplyOption(2, "Talk to a person", None)]
    assert PLUGIN.match_reply(" 1 ", options) == options[0]
    assert PLUGIN.match_reply("talk to a person", options) == options[1]
    assert PLUGIN.match_reply("3", options) is None
    assert PLUGIN.match_reply("hello", options) is None


# --- statuses ----------------------------------------------------------------------------------


def status(state: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "status",
        "id": "vbm_3f9c",
        "client_ref": "01HX5Y0Q7V3C9G2ZB1M4RT6K8N",
        "status": state,
        "timestamp": "2024-05-01T10:00:09Z",
        **extra,
    }


def test_delivered_and_seen_are_delivered_and_read() -> None:
    for state, expected in (("delivered", "DELIVERED"), ("seen", "READ")):
        [item] = parse(status(state))
        assert item == StatusReport(
            status=expected,
            native_id="vbm_3f9c",
            message_id="01HX5Y0Q7V3C9G2ZB1M4RT6K8N",
            at=datetime(2024, 5, 1, 10, 0, 9, tzinfo=UTC),
        )


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("NOT_VIBER_USER", ReasonCode.RECIPIENT_NOT_REACHABLE),
        ("UNSUPPORTED_DEVICE", ReasonCode.RECIPIENT_NOT_REACHABLE),
        ("USER_BLOCKED", ReasonCode.RECIPIENT_NOT_OPTED_IN),
        ("OPTED_OUT", ReasonCode.RECIPIENT_NOT_OPTED_IN),
        ("NO_SESSION", ReasonCode.OUTSIDE_ALLOWED_SENDING_WINDOW),
        ("MEDIA_NOT_REACHABLE", ReasonCode.MEDIA_NOT_REACHABLE),
        ("MEDIA_TOO_LARGE", ReasonCode.MEDIA_TOO_LARGE),
        ("SOMETHING_NEW", ReasonCode.CHANNEL_FAILURE),
    ],
)
def test_a_failed_status_carries_the_mapped_reason(code: str, reason: ReasonCode) -> None:
    [item] = parse(status("failed", error={"code": code, "message": "why"}))
    assert item.status == "FAILED"
    assert item.reason == {
        "code": reason.value,
        "description": "why",
        "sub_code": "UNSPECIFIED_SUB_CODE",
        "channel_code": code,
    }


def test_an_expired_status_is_delivery_timed_out() -> None:
    [item] = parse(status("expired"))
    assert item.status == "FAILED"
    assert item.reason["code"] == ReasonCode.DELIVERY_TIMED_OUT.value


def test_other_statuses_change_nothing() -> None:
    [item] = parse(status("accepted"))
    assert item.status == "" and item.native_id == "vbm_3f9c"


# --- the rest ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["opt_in", "opt_out"])
def test_consent_changes_name_the_identity_and_the_list(kind: str) -> None:
    [item] = parse({"type": kind, "service_id": "SVC1", "sender": "+46732000000"})
    assert item == ConsentChange(identity="46732000000", opted_in=kind == "opt_in")
    [marketing] = parse({"type": kind, "sender": "46732000000", "list_type": "OPT_OUT_MARKETING"})
    assert marketing.list_type == "OPT_OUT_MARKETING"
    [unknown_list] = parse({"type": kind, "sender": "46732000000", "list_type": "NOPE"})
    assert unknown_list.list_type == "OPT_OUT_ALL"


@pytest.mark.parametrize("kind", ["typing", None])
def test_unknown_types_are_unmapped(kind: str | None) -> None:
    payload = {"type": kind, "service_id": "SVC1", "sender": "+46732000000"}
    [item] = parse(payload)
    assert isinstance(item, Unmapped)
    assert item.identity == "46732000000"
    assert json.loads(item.payload) == payload


@pytest.mark.parametrize(
    "body", [b"not json", b"[1]", b'{"type": "message"}', b'{"type": "status"}']
)
def test_malformed_callbacks_are_refused(body: bytes) -> None:
    with pytest.raises(InboundRejected) as rejected:
        PLUGIN.parse_inbound(NativeRequest("APP", {}, body))
    assert rejected.value.status == 400
