"""Viber callbacks (CHANNELS.md part 2 §3.7): X-Viber-Content-Signature verification and the
mapping of every native event to contact messages, delivery reports and unsupported traffic."""

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
from chorus.channels.viber.plugin import PLUGIN

TOKEN = "bot-auth-token"
SECRET = "callback-secret"
USER = "9KC0p+pi4zPGDO99ACDxoQ=="
MID = "01HX5Y0Q7V3C9G2ZB1M4RT6K8N"
WITH_SECRET = {"channel": "VIBER", "static_token": {"token": TOKEN}, "callback_secret": SECRET}
TOKEN_ONLY = {"channel": "VIBER", "static_token": {"token": TOKEN}}


def signed(payload: dict[str, Any], key: str = TOKEN, header: str | None = None) -> NativeRequest:
    body = json.dumps(payload).encode()
    digest = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    headers = {"x-viber-content-signature": header if header is not None else digest}
    return NativeRequest(app_id="APP", headers=headers, body=body)


def message_event(message: dict[str, Any], token: int = 4912661846655238145) -> dict[str, Any]:
    return {
        "event": "message",
        "timestamp": 1714557600000,
        "message_token": token,
        "sender": {
            "id": USER,
            "name": "Jane",
            "language": "en",
            "country": "SE",
            "api_version": 10,
        },
        "message": message,
    }


def parsed(payload: dict[str, Any]) -> Any:
    items = PLUGIN.parse_inbound(signed(payload))
    assert len(items) == 1
    return items[0]


# --- verification ----------------------------------------------------------------------------


def test_a_body_signed_with_the_auth_token_is_accepted_without_a_callback_secret() -> None:
    PLUGIN.verify(signed({"event": "webhook"}), TOKEN_ONLY, simulator_on=False)


def test_the_callback_secret_is_the_key_when_set() -> None:
    PLUGIN.verify(signed({"event": "webhook"}, SECRET), WITH_SECRET, simulator_on=False)
    with pytest.raises(InboundRejected) as rejected:
        PLUGIN.verify(signed({"event": "webhook"}, TOKEN), WITH_SECRET, simulator_on=True)
    assert rejected.value.status == 401


def test_upper_case_hex_is_accepted() -> None:
    request = signed({"event": "webhook"})
    upper = NativeRequest(
        app_id="APP",
        headers={"x-viber-content-signature": request.headers["x-viber-content-signature"].upper()},
        body=request.body,
    )
    PLUGIN.verify(upper, TOKEN_ONLY, simulator_on=False)


@pytest.mark.parametrize(
    "request_",
    [
        NativeRequest(app_id="APP", headers={}, body=b'{"event":"webhook"}'),
        signed({"event": "webhook"}, header="00" * 32),
        signed({"event": "webhook"}, key="another-bot-token"),
    ],
    ids=["missing", "wrong", "other-secret"],
)
def test_missing_wrong_or_foreign_signatures_are_refused_even_with_the_simulator_on(
    request_: NativeRequest,
) -> None:
    with pytest.raises(InboundRejected) as rejected:
        PLUGIN.verify(request_, TOKEN_ONLY, simulator_on=True)
    assert rejected.value.status == 401


def test_a_tampered_body_is_refused() -> None:
    request = signed({"event": "webhook"})
    tampered = NativeRequest(app_id="APP", headers=request.headers, body=request.body + b" ")
    with pytest.raises(InboundRejected):
        PLUGIN.verify(tampered, TOKEN_ONLY, simulator_on=False)


def test_a_credential_without_any_key_follows_decision_2() -> None:
    keyless = {"channel": "VIBER", "static_token": {}}
    PLUGIN.verify(signed({"event": "webhook"}), keyless, simulator_on=True)
    with pytest.raises(InboundRejected):
        PLUGIN.verify(signed({"event": "webhook"}), keyless, simulator_on=False)


# --- messages ----------------------------------------------------------------------------------


def test_text_message() -> None:
    item = parsed(message_event({"type": "text", "text": "hi there"}))
    assert isinstance(item, InboundMessage)
    assert item.identity == USER
    assert item.contact_message == {"text_message": {"text": "hi there"}}
    assert item.native_id == "4912661846655238145"
    assert item.at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert item.reply_text is None
    assert item.profile_name == "Jane"


def test_a_text_carrying_the_full_envelope_is_a_choice_response() -> None:
    item = parsed(message_event({"type": "text", "text": f"{MID}:track:me"}))
    assert item.contact_message == {
        "choice_response_message": {"message_id": MID, "postback_data": "track:me"}
    }


def test_the_short_envelope_is_read_back_from_the_message_options() -> None:
    item = parsed(message_event({"type": "text", "text": f"{MID}#1"}))
    assert item.contact_message == {"text_message": {"text": f"{MID}#1"}}
    assert item.reply_text == f"{MID}#1"
    options = [ReplyOption(1, "Track", "track"), ReplyOption(2, "Talk to a person", None)]
    assert PLUGIN.match_reply(item.reply_text, options) == options[1]
    assert PLUGIN.match_reply("2", options) is None
    assert PLUGIN.match_reply(f"{MID}#7", options) is None


def test_picture_without_and_with_caption() -> None:
    plain = parsed(message_event({"type": "picture", "media": "https://m.viber.com/p.jpg"}))
    assert plain.contact_message == {"media_message": {"url": "https://m.viber.com/p.jpg"}}
    captioned = parsed(
        message_event({"type": "picture", "media": "https://m.viber.com/p.jpg", "text": "look"})
    )
    assert captioned.contact_message == {
        "media_card_message": {"url": "https://m.viber.com/p.jpg", "caption": "look"}
    }


@pytest.mark.parametrize(
    "message",
    [
        {"type": "video", "media": "https://m.viber.com/v.mp4", "size": 10, "duration": 3},
        {"type": "file", "media": "https://m.viber.com/f.pdf", "size": 10, "file_name": "f.pdf"},
        {"type": "sticker", "sticker_id": 40133, "media": "https://m.viber.com/s.png"},
    ],
    ids=["video", "file", "sticker"],
)
def test_video_file_and_sticker_are_media(message: dict[str, Any]) -> None:
    assert parsed(message_event(message)).contact_message == {
        "media_message": {"url": message["media"]}
    }


def test_url_message_is_text() -> None:
    item = parsed(message_event({"type": "url", "media": "https://example.com/x"}))
    assert item.contact_message == {"text_message": {"text": "https://example.com/x"}}


def test_location() -> None:
    item = parsed(message_event({"type": "location", "location": {"lat": 59.33, "lon": 18.06}}))
    assert item.contact_message == {
        "location_message": {
            "coordinates": {"latitude": 59.33, "longitude": 18.06},
            "title": "",
            "label": "",
        }
    }


def test_contact_is_a_fallback_message() -> None:
    payload = message_event(
        {"type": "contact", "contact": {"name": "Bob", "phone_number": "+46700000000"}}
    )
    item = parsed(payload)
    fallback = item.contact_message["fallback_message"]
    assert json.loads(fallback["raw_message"]) == payload
    assert fallback["reason"]["code"] == "UNSUPPORTED_OPERATION"
    assert fallback["reason"]["channel_code"] == "contact"


def test_an_unknown_message_type_is_unmapped() -> None:
    item = parsed(message_event({"type": "rich_media", "rich_media": {}}))
    assert isinstance(item, Unmapped) and item.identity == USER


# --- reports and other events ----------------------------------------------------------------


def report(event: str, **extra: Any) -> dict[str, Any]:
    return {
        "event": event,
        "timestamp": 1714557600000,
        "chat_hostname": "SN-1",
        "message_token": 5741311803571721087,
        "user_id": USER,
        **extra,
    }


def test_delivered_and_seen() -> None:
    delivered = parsed(report("delivered"))
    assert delivered == StatusReport(
        status="DELIVERED",
        native_id="5741311803571721087",
        identity=USER,
        at=datetime(2024, 5, 1, 10, 0, tzinfo=UTC),
    )
    assert parsed(report("seen")).status == "READ"


def test_failed_is_recipient_not_reachable_with_the_description() -> None:
    failed = parsed(report("failed", desc="receiver is offline"))
    assert failed.status == "FAILED"
    assert failed.reason == {
        "code": "RECIPIENT_NOT_REACHABLE",
        "description": "receiver is offline",
        "sub_code": "UNSPECIFIED_SUB_CODE",
        "channel_code": "failed",
    }


def test_webhook_validation_is_answered_with_nothing_to_process() -> None:
    assert PLUGIN.parse_inbound(signed({"event": "webhook", "timestamp": 1})) == []


def test_subscribed_is_an_opt_in_that_introduces_the_identity() -> None:
    item = parsed({"event": "subscribed", "timestamp": 1, "user": {"id": USER, "name": "Jane"}})
    assert item == ConsentChange(identity=USER, opted_in=True, at=item.at, learns_identity=True)


def test_unsubscribed_is_an_opt_out() -> None:
    item = parsed({"event": "unsubscribed", "timestamp": 1, "user_id": USER})
    assert isinstance(item, ConsentChange)
    assert item.identity == USER and not item.opted_in and item.list_type == "OPT_OUT_ALL"


@pytest.mark.parametrize(
    "payload",
    [
        {
            "event": "conversation_started",
            "type": "open",
            "user": {"id": USER},
            "subscribed": False,
        },
        {"event": "client_status", "user_id": USER},
    ],
    ids=["conversation_started", "unknown"],
)
def test_other_events_are_unsupported_with_the_identity(payload: dict[str, Any]) -> None:
    item = parsed(payload)
    assert isinstance(item, Unmapped)
    assert item.identity == USER
    assert json.loads(item.payload) == payload


def test_malformed_json_is_a_bad_request() -> None:
    with pytest.raises(InboundRejected) as rejected:
        PLUGIN.parse_inbound(NativeRequest(app_id="APP", headers={}, body=b"{nope"))
    assert rejected.value.status == 400


@pytest.mark.parametrize("token", [[], {}, True, "", 1.5])
def test_a_message_token_that_is_not_a_number_is_a_bad_request(token: object) -> None:
    """Not a report to wait for (chorus answers 503 to a report about a send it has not
    recorded yet, so the channel delivers it again): a malformed one, refused for good."""
    with pytest.raises(InboundRejected) as rejected:
        parsed(report("delivered", message_token=token))
    assert rejected.value.status == 400
    assert "message_token" in str(rejected.value)
