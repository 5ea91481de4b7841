"""Messenger webhooks (CHANNELS.md part 2 §1.7): `X-Hub-Signature-256` verification, the
subscription handshake, and every native kind mapped to contact messages and reports."""

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from chorus.channels.base import (
    InboundMessage,
    InboundRejected,
    NativeRequest,
    StatusReport,
    Unmapped,
)
from chorus.channels.messenger.plugin import PLUGIN
from chorus.channels.meta import subscription_challenge

SECRET = "app-secret"
CREDENTIAL = {"channel": "MESSENGER", "static_token": {"token": "t"}, "callback_secret": SECRET}
PSID = "534183549153491"
PAGE = "104857600000001"
MID = "01HX5Y0Q7V3C9G2ZB1M4RT6K8N"
T = 1714557600000


def webhook(*events: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "page",
        "entry": [
            {
                "id": PAGE,
                "time": T,
                "messaging": [
                    {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": T, **e}
                    for e in events
                ],
            }
        ],
    }


def request(payload: Any, headers: dict[str, str] | None = None) -> NativeRequest:
    body = json.dumps(payload).encode()
    return NativeRequest(app_id="APP", headers=headers or {}, body=body)


def signed(payload: Any, secret: str = SECRET) -> NativeRequest:
    body = json.dumps(payload).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return NativeRequest(
        app_id="APP", headers={"x-hub-signature-256": f"sha256={digest}"}, body=body
    )


def parse(*events: dict[str, Any]) -> list[Any]:
    return PLUGIN.parse_inbound(request(webhook(*events)))


# --- verification --------------------------------------------------------------------------------


def test_a_correct_signature_is_accepted() -> None:
    PLUGIN.verify(signed(webhook()), CREDENTIAL, simulator_on=False)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-hub-signature-256": "sha256=" + "0" * 64},
        {"x-hub-signature-256": "not a signature"},
    ],
    ids=["missing", "wrong", "malformed"],
)
def test_a_missing_or_wrong_signature_is_401(headers: dict[str, str]) -> None:
    with pytest.raises(InboundRejected) as rejected:
        PLUGIN.verify(request(webhook(), headers), CREDENTIAL, simulator_on=True)
    assert rejected.value.status == 401


def test_a_signature_with_another_secret_is_401() -> None:
    with pytest.raises(InboundRejected) as rejected:
        PLUGIN.verify(signed(webhook(), "other-secret"), CREDENTIAL, simulator_on=True)
    assert rejected.value.status == 401


def test_a_signature_over_other_bytes_is_401() -> None:
    good = signed(webhook())
    tampered = NativeRequest(app_id="APP", headers=good.headers, body=good.body + b" ")
    with pytest.raises(InboundRejected):
        PLUGIN.verify(tampered, CREDENTIAL, simulator_on=True)


def test_without_a_callback_secret_only_the_simulator_is_trusted() -> None:
    credential = {"channel": "MESSENGER", "static_token": {"token": "t"}}
    PLUGIN.verify(request(webhook()), credential, simulator_on=True)
    with pytest.raises(InboundRejected) as rejected:
        PLUGIN.verify(request(webhook()), credential, simulator_on=False)
    assert rejected.value.status == 401


def test_the_subscription_handshake_echoes_the_challenge_for_the_secret() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": SECRET, "hub.challenge": "c123"}
    assert subscription_challenge(query, CREDENTIAL, "APP") == (200, "c123")
    assert subscription_challenge({**query, "hub.verify_token": "x"}, CREDENTIAL, "APP")[0] == 403
    no_secret = {"channel": "MESSENGER", "static_token": {"token": "t"}}
    assert subscription_challenge({**query, "hub.verify_token": "APP"}, no_secret, "APP") == (
        200,
        "c123",
    )


# --- contact messages ----------------------------------------------------------------------------


def test_text() -> None:
    [item] = parse({"message": {"mid": "m_1", "text": "Hello"}})
    assert item == InboundMessage(
        identity=PSID,
        contact_message={"text_message": {"text": "Hello"}},
        native_id="m_1",
        sender_id=PAGE,  # the app-side address the user wrote to
        at=datetime.fromtimestamp(T / 1000, UTC),
    )


def test_each_attachment_is_a_media_message() -> None:
    items = parse(
        {
            "message": {
                "mid": "m_2",
                "attachments": [
                    {"type": "image", "payload": {"url": "https://x/1.jpg", "sticker_id": 1}},
                    {"type": "file", "payload": {"url": "https://x/2.pdf"}},
                ],
            }
        }
    )
    assert [(i.native_id, i.contact_message) for i in items] == [
        ("m_2", {"media_message": {"url": "https://x/1.jpg"}}),
        ("m_2#1", {"media_message": {"url": "https://x/2.pdf"}}),
    ]


def test_an_attachment_with_text_is_a_media_card() -> None:
    [item] = parse(
        {
            "message": {
                "mid": "m_3",
                "text": "look",
                "attachments": [{"type": "video", "payload": {"url": "https://x/v.mp4"}}],
            }
        }
    )
    assert item.contact_message == {
        "media_card_message": {"url": "https://x/v.mp4", "caption": "look"}
    }


def test_the_text_captions_the_first_media_attachment_wherever_it_is() -> None:
    location = {"type": "location", "payload": {"coordinates": {"lat": 1.5, "long": 2.5}}}
    image = {"type": "image", "payload": {"url": "https://x/i.jpg"}}
    items = parse({"message": {"mid": "m_4", "text": "cap", "attachments": [location, image]}})
    assert [i.contact_message for i in items] == [
        {
            "location_message": {
                "coordinates": {"latitude": 1.5, "longitude": 2.5},
                "title": "",
                "label": "",
            }
        },
        {"media_card_message": {"url": "https://x/i.jpg", "caption": "cap"}},
    ]
    # No media at all: the text is not lost, it arrives as a message of its own.
    items = parse({"message": {"mid": "m_5", "text": "here", "attachments": [location]}})
    assert items[-1].contact_message == {"text_message": {"text": "here"}}
    assert [i.native_id for i in items] == ["m_5", "m_5#text"]


@pytest.mark.parametrize("sender", [{"id": {"x": 1}}, {"id": ""}, {"id": True}, {}])
def test_a_sender_that_names_no_one_is_unmapped(sender: dict[str, Any]) -> None:
    payload = webhook({"message": {"mid": "m_6", "text": "hi"}})
    payload["entry"][0]["messaging"][0]["sender"] = sender
    [item] = PLUGIN.parse_inbound(request(payload))
    assert isinstance(item, Unmapped)


def test_location() -> None:
    [item] = parse(
        {
            "message": {
                "mid": "m_4",
                "attachments": [
                    {
                        "type": "location",
                        "title": "Pinned",
                        "payload": {"coordinates": {"lat": 59.33, "long": 18.07}},
                    }
                ],
            }
        }
    )
    assert item.contact_message == {
        "location_message": {
            "coordinates": {"latitude": 59.33, "longitude": 18.07},
            "title": "Pinned",
            "label": "",
        }
    }


def test_an_unknown_attachment_is_a_fallback_message() -> None:
    event = {"message": {"mid": "m_5", "attachments": [{"type": "fallback", "payload": None}]}}
    [item] = parse(event)
    fallback = item.contact_message["fallback_message"]
    assert fallback["reason"]["code"] == "UNSUPPORTED_OPERATION"
    assert fallback["reason"]["channel_code"] == "fallback"
    assert json.loads(fallback["raw_message"])["message"]["mid"] == "m_5"


def test_a_quick_reply_with_postback_data() -> None:
    [item] = parse(
        {
            "message": {
                "mid": "m_6",
                "text": "Track order",
                "quick_reply": {"payload": f"{MID}:track"},
            }
        }
    )
    assert item.contact_message == {
        "choice_response_message": {"message_id": MID, "postback_data": "track"}
    }


def test_a_quick_reply_without_postback_data_reports_the_default() -> None:
    [item] = parse(
        {
            "message": {
                "mid": "m_7",
                "text": "Talk to a person",
                "quick_reply": {"payload": f"{MID}#1"},
            }
        }
    )
    assert item.contact_message == {
        "choice_response_message": {"message_id": MID, "postback_data": f"{MID}_Talk to a person"}
    }


def test_a_postback_button() -> None:
    [item] = parse({"postback": {"mid": "m_8", "title": "Remind me", "payload": f"{MID}:remind"}})
    assert item.native_id == "m_8"
    assert item.contact_message == {
        "choice_response_message": {"message_id": MID, "postback_data": "remind"}
    }


def test_a_payload_chorus_did_not_set_has_no_message_id() -> None:
    [item] = parse({"postback": {"title": "Get Started", "payload": "GET_STARTED"}})
    assert item.contact_message == {
        "choice_response_message": {"message_id": "", "postback_data": "GET_STARTED"}
    }
    assert item.native_id == f"postback:{PSID}:{T}"


def test_echoes_are_ignored() -> None:
    assert parse({"message": {"mid": "m_9", "text": "sent by us", "is_echo": True}}) == []


# --- statuses ------------------------------------------------------------------------------------


def test_delivery_reports_every_listed_mid_and_the_watermark() -> None:
    """§1.7: each listed mid, and every message to the PSID sent up to the watermark."""
    items = parse({"delivery": {"mids": ["m_a", "m_b"], "watermark": T}})
    assert [(i.status, i.native_id, i.identity) for i in items] == [
        ("DELIVERED", "m_a", PSID),
        ("DELIVERED", "m_b", PSID),
        ("DELIVERED", None, PSID),
    ]
    assert items[-1].at == datetime.fromtimestamp(T / 1000, UTC)
    [only_mid] = parse({"delivery": {"mids": ["m_a"]}})
    assert only_mid.native_id == "m_a"


def test_read_reports_the_watermark() -> None:
    [item] = parse({"read": {"watermark": T}})
    assert item == StatusReport(
        status="READ", identity=PSID, at=datetime.fromtimestamp(T / 1000, UTC)
    )


# --- unmapped ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        {"reaction": {"mid": "m_1", "action": "react", "emoji": "x"}},
        {"optin": {"ref": "r"}},
        {"referral": {"ref": "r", "source": "SHORTLINK"}},
        {"account_linking": {"status": "linked"}},
        {"policy-enforcement": {"action": "block"}},
    ],
)
def test_other_events_are_unsupported(event: dict[str, Any]) -> None:
    [item] = parse(event)
    assert isinstance(item, Unmapped)
    assert item.identity == PSID
    assert json.loads(item.payload)[next(iter(event))] == next(iter(event.values()))


def test_standby_events_are_unsupported() -> None:
    payload = {"object": "page", "entry": [{"id": PAGE, "time": T, "standby": [{"x": 1}]}]}
    [item] = PLUGIN.parse_inbound(request(payload))
    assert isinstance(item, Unmapped)


def test_several_events_are_mapped_in_order() -> None:
    items = parse(
        {"message": {"mid": "m_1", "text": "a"}},
        {"delivery": {"mids": ["m_x"], "watermark": T}},
        {"message": {"mid": "m_2", "text": "b"}},
    )
    assert [type(i) for i in items] == [
        InboundMessage,
        StatusReport,  # the mid
        StatusReport,  # the watermark
        InboundMessage,
    ]


def test_a_body_that_is_not_a_webhook_is_400() -> None:
    with pytest.raises(InboundRejected) as rejected:
        PLUGIN.parse_inbound(NativeRequest(app_id="APP", headers={}, body=b"not json"))
    assert rejected.value.status == 400
