"""RBM webhooks (CHANNELS.md part 1 §3.7): X-Goog-Signature verification, the handshake, and
the mapping of every native inbound kind."""

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from chorus.channels.base import (
    HandshakeAnswer,
    Ignored,
    InboundEvent,
    InboundMessage,
    InboundRejected,
    NativeRequest,
    StatusReport,
    Unmapped,
)
from chorus.channels.rcs.plugin import PLUGIN

SECRET = "client-token"
AGENT = "acme_agent"
CREDENTIAL = {
    "channel": "RCS",
    "static_bearer": {"claimed_identity": AGENT, "token": "t"},
    "callback_secret": SECRET,
}
MID = "01HZX0RCS0000000000000000A"


def goog_signature(secret: str, data: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), data, hashlib.sha512).digest()).decode()


def push(event: dict[str, Any], *, secret: str | None = SECRET) -> NativeRequest:
    data = json.dumps(event).encode()
    body = {
        "message": {
            "data": base64.b64encode(data).decode(),
            "messageId": "2418",
            "publishTime": "2024-05-01T10:00:01Z",
            "attributes": {"message_type": "USER_MESSAGE"},
        },
        "subscription": "projects/rbm-acme/subscriptions/sub",
    }
    headers = {"x-goog-signature": goog_signature(secret, data)} if secret else {}
    return NativeRequest(
        app_id="APP", headers=headers, body=json.dumps(body).encode(), credential=CREDENTIAL
    )


def user(**content: Any) -> dict[str, Any]:
    return {
        "senderPhoneNumber": "+46732000000",
        "messageId": "MxAbc",
        "sendTime": "2024-05-01T10:00:00Z",
        "agentId": AGENT,
        **content,
    }


def parsed(event: dict[str, Any]) -> Any:
    request = push(event)
    PLUGIN.verify(request, CREDENTIAL, simulator_on=False)
    (item,) = PLUGIN.parse_inbound(request)
    return item


# --- verification ----------------------------------------------------------------------------


def test_a_correct_signature_is_accepted() -> None:
    PLUGIN.verify(push(user(text="hi")), CREDENTIAL, simulator_on=False)


def test_a_missing_signature_is_refused() -> None:
    with pytest.raises(InboundRejected) as refused:
        PLUGIN.verify(push(user(text="hi"), secret=None), CREDENTIAL, simulator_on=True)
    assert refused.value.status == 401


def test_a_wrong_signature_is_refused() -> None:
    request = push(user(text="hi"))
    tampered = NativeRequest(
        app_id="APP",
        headers={"x-goog-signature": "AAAA" + request.headers["x-goog-signature"][4:]},
        body=request.body,
    )
    with pytest.raises(InboundRejected) as refused:
        PLUGIN.verify(tampered, CREDENTIAL, simulator_on=True)
    assert refused.value.status == 401


def test_a_signature_with_another_secret_is_refused() -> None:
    with pytest.raises(InboundRejected) as refused:
        PLUGIN.verify(push(user(text="hi"), secret="other"), CREDENTIAL, simulator_on=True)
    assert refused.value.status == 401


def test_the_signature_covers_the_decoded_data_not_the_envelope() -> None:
    request = push(user(text="hi"))
    data = base64.b64decode(json.loads(request.body)["message"]["data"])
    assert request.headers["x-goog-signature"] == goog_signature(SECRET, data)
    wrong = NativeRequest(
        app_id="APP",
        headers={"x-goog-signature": goog_signature(SECRET, request.body)},
        body=request.body,
    )
    with pytest.raises(InboundRejected):
        PLUGIN.verify(wrong, CREDENTIAL, simulator_on=True)


def test_without_a_callback_secret_only_the_simulator_is_trusted() -> None:
    credential = {**CREDENTIAL, "callback_secret": ""}
    PLUGIN.verify(push(user(text="hi"), secret=None), credential, simulator_on=True)
    with pytest.raises(InboundRejected) as refused:
        PLUGIN.verify(push(user(text="hi"), secret=None), credential, simulator_on=False)
    assert refused.value.status == 401


def test_an_event_for_another_agent_is_ignored_not_refused() -> None:
    """§3.7: ignored and recorded; a 403 had RBM deliver it again for days."""
    request = push(user(text="hi", agentId="other"))
    PLUGIN.verify(request, CREDENTIAL, simulator_on=True)
    (item,) = PLUGIN.parse_inbound(request)
    assert isinstance(item, Ignored)
    assert "'other'" in item.description


def test_data_that_is_not_base64_is_a_bad_request() -> None:
    body = json.dumps({"message": {"data": "%%%"}}).encode()
    with pytest.raises(InboundRejected) as refused:
        PLUGIN.verify(
            NativeRequest("APP", {"x-goog-signature": "x"}, body), CREDENTIAL, simulator_on=True
        )
    assert refused.value.status == 400


def test_the_handshake_needs_the_client_token() -> None:
    good = NativeRequest("APP", {}, json.dumps({"clientToken": SECRET, "secret": "s3"}).encode())
    PLUGIN.verify(good, CREDENTIAL, simulator_on=False)
    assert PLUGIN.parse_inbound(good) == [HandshakeAnswer("s3")], "RBM gets its secret back"
    bad = NativeRequest("APP", {}, json.dumps({"clientToken": "nope", "secret": "s3"}).encode())
    with pytest.raises(InboundRejected) as refused:
        PLUGIN.verify(bad, CREDENTIAL, simulator_on=True)
    assert refused.value.status == 403


# --- mapping ---------------------------------------------------------------------------------


def test_text_becomes_a_text_message() -> None:
    item = parsed(user(text="hello"))
    assert isinstance(item, InboundMessage)
    assert item.identity == "46732000000"
    assert item.contact_message == {"text_message": {"text": "hello"}}
    assert item.native_id == "MxAbc"
    assert item.at is not None and item.at.year == 2024


def test_user_file_becomes_a_media_message() -> None:
    item = parsed(
        user(
            userFile={
                "payload": {
                    "mimeType": "image/jpeg",
                    "fileSizeBytes": 1234,
                    "fileUri": "https://rcs.example.com/f/1",
                    "fileName": "cat.jpg",
                },
                "thumbnail": {"mimeType": "image/jpeg", "fileUri": "https://rcs.example.com/t/1"},
            }
        )
    )
    assert item.contact_message == {
        "media_message": {
            "url": "https://rcs.example.com/f/1",
            "thumbnail_url": "https://rcs.example.com/t/1",
            "filename_override": "cat.jpg",
        }
    }


def test_location_becomes_a_location_message() -> None:
    item = parsed(user(location={"latitude": 59.33, "longitude": 18.06}))
    assert item.contact_message == {
        "location_message": {"coordinates": {"latitude": 59.33, "longitude": 18.06}}
    }


@pytest.mark.parametrize("kind", ["REPLY", "ACTION"])
def test_a_suggestion_response_names_its_message_and_postback(kind: str) -> None:
    response = {"postbackData": f"{MID}|newsletter_yes", "text": "Yes", "type": kind}
    item = parsed(user(suggestionResponse=response))
    assert item.contact_message == {
        "choice_response_message": {"message_id": MID, "postback_data": "newsletter_yes"}
    }
    assert item.reply_text is None


def test_a_default_postback_keeps_the_message_id_prefix() -> None:
    response = {"postbackData": f"{MID}|{MID}_Shop", "text": "Shop", "type": "REPLY"}
    item = parsed(user(suggestionResponse=response))
    assert item.contact_message["choice_response_message"] == {
        "message_id": MID,
        "postback_data": f"{MID}_Shop",
    }


def test_a_postback_without_a_message_id_is_matched_to_the_latest_offer() -> None:
    item = parsed(user(suggestionResponse={"postbackData": "menu", "type": "REPLY"}))
    assert item.contact_message == {
        "choice_response_message": {"message_id": "", "postback_data": "menu"}
    }
    assert item.reply_text == "menu"
    from chorus.channels.base import ReplyOption

    options = [ReplyOption(1, "Other", "other"), ReplyOption(2, "Menu", "menu")]
    assert PLUGIN.match_reply("menu", options) == options[1]
    assert PLUGIN.match_reply("Menu", options) is None


def status(kind: str) -> dict[str, Any]:
    return {
        "senderPhoneNumber": "+46732000000",
        "eventType": kind,
        "eventId": "MxEv1",
        "messageId": MID,
        "sendTime": "2024-05-01T10:00:05Z",
        "agentId": AGENT,
    }


@pytest.mark.parametrize("kind", ["DELIVERED", "READ"])
def test_delivered_and_read_are_status_reports(kind: str) -> None:
    item = parsed(status(kind))
    assert isinstance(item, StatusReport)
    assert (item.status, item.native_id, item.identity) == (kind, MID, "46732000000")
    assert item.message_id is None  # matched through the recorded native id


def test_is_typing_is_a_composing_event() -> None:
    item = parsed(status("IS_TYPING"))
    assert isinstance(item, InboundEvent)
    assert item.identity == "46732000000"
    assert item.contact_event == {"composing_event": {}}


def test_other_events_and_contents_are_unsupported() -> None:
    other_event = parsed(status("SUBSCRIBE"))
    assert isinstance(other_event, Unmapped) and other_event.identity == "46732000000"
    assert json.loads(other_event.payload)["eventType"] == "SUBSCRIBE"
    other_content = parsed(user(sticker={"id": "x"}))
    assert isinstance(other_content, Unmapped)
    assert json.loads(other_content.payload)["sticker"] == {"id": "x"}
