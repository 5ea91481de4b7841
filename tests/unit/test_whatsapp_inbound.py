"""WhatsApp webhooks: X-Hub-Signature-256 verification, the subscription handshake and the
mapping of every native inbound kind (CHANNELS.md part 1 §2.7)."""

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from chorus.channels.base import (
    ChannelEvent,
    Ignored,
    InboundMessage,
    InboundRejected,
    NativeRequest,
    StatusReport,
    Unmapped,
)
from chorus.channels.meta import subscription_challenge
from chorus.channels.whatsapp.inbound import parse_webhook
from chorus.channels.whatsapp.plugin import PLUGIN

SECRET = "meta-app-secret"
NUMBER_ID = "106540352242922"
CREDENTIAL = {
    "channel": "WHATSAPP",
    "static_bearer": {"claimed_identity": NUMBER_ID, "token": "t"},
    "callback_secret": SECRET,
}


def webhook(value: dict[str, Any], field: str = "messages") -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA",
                "changes": [
                    {
                        "field": field,
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550001111",
                                "phone_number_id": NUMBER_ID,
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def message(kind: str, body: Any, **extra: Any) -> dict[str, Any]:
    return webhook(
        {
            "contacts": [{"profile": {"name": "Ann"}, "wa_id": "46732000000"}],
            "messages": [
                {
                    "from": "46732000000",
                    "id": "wamid.IN1",
                    "timestamp": "1714557600",
                    "type": kind,
                    kind: body,
                    **extra,
                }
            ],
        }
    )


def request(payload: Any, headers: dict[str, str] | None = None) -> NativeRequest:
    body = json.dumps(payload).encode()
    return NativeRequest(
        app_id="APP", headers={"host": "chorus.test", **(headers or {})}, body=body
    )


def signed(payload: Any, secret: str = SECRET) -> NativeRequest:
    body = json.dumps(payload).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return NativeRequest(
        app_id="APP", headers={"x-hub-signature-256": f"sha256={digest}"}, body=body
    )


def only(items: list[Any]) -> Any:
    assert len(items) == 1, items
    return items[0]


# --- verification ------------------------------------------------------------------------------


def test_a_correct_signature_is_accepted() -> None:
    PLUGIN.verify(signed(message("text", {"body": "hi"})), CREDENTIAL, simulator_on=False)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-hub-signature-256": "sha256=" + "0" * 64},
        {"x-hub-signature-256": "garbage"},
    ],
    ids=["missing", "wrong", "malformed"],
)
def test_missing_or_wrong_signatures_are_refused(headers: dict[str, str]) -> None:
    with pytest.raises(InboundRejected) as refused:
        PLUGIN.verify(request({"object": "x"}, headers), CREDENTIAL, simulator_on=True)
    assert refused.value.status == 401


def test_a_signature_with_another_secret_is_refused() -> None:
    with pytest.raises(InboundRejected) as refused:
        PLUGIN.verify(signed({"object": "x"}, "other-secret"), CREDENTIAL, simulator_on=True)
    assert refused.value.status == 401


def test_the_signature_covers_the_exact_bytes() -> None:
    good = signed({"a": 1})
    tampered = NativeRequest(app_id="APP", headers=good.headers, body=good.body + b" ")
    with pytest.raises(InboundRejected):
        PLUGIN.verify(tampered, CREDENTIAL, simulator_on=True)


def test_without_a_callback_secret_only_the_simulator_profile_accepts() -> None:
    bare = {k: v for k, v in CREDENTIAL.items() if k != "callback_secret"}
    PLUGIN.verify(request({}), bare, simulator_on=True)
    with pytest.raises(InboundRejected) as refused:
        PLUGIN.verify(request({}), bare, simulator_on=False)
    assert refused.value.status == 401


def test_subscription_handshake_echoes_the_challenge_for_the_secret() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": SECRET, "hub.challenge": "42"}
    assert subscription_challenge(query, CREDENTIAL, "APP") == (200, "42")
    assert subscription_challenge({**query, "hub.verify_token": "no"}, CREDENTIAL, "APP")[0] == 403
    bare = {"channel": "WHATSAPP"}
    assert subscription_challenge({**query, "hub.verify_token": "APP"}, bare, "APP") == (200, "42")


# --- contact messages -------------------------------------------------------------------------


def test_text() -> None:
    item = only(PLUGIN.parse_inbound(request(message("text", {"body": "hello"}))))
    assert isinstance(item, InboundMessage)
    assert item.identity == "46732000000"
    assert item.contact_message == {"text_message": {"text": "hello"}}
    assert item.native_id == "wamid.IN1"
    assert item.sender_id == NUMBER_ID
    assert item.at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert item.reply_text == "hello"
    assert item.profile_name == "Ann"


def test_the_profile_name_is_the_senders_own() -> None:
    payload = message("text", {"body": "hi"})
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"] = [
        {"profile": {"name": "Bo"}, "wa_id": "46700000009"},
        {"profile": {"name": "  "}, "wa_id": "46732000000"},
    ]
    assert only(PLUGIN.parse_inbound(request(payload))).profile_name is None
    del value["contacts"]
    assert only(PLUGIN.parse_inbound(request(payload))).profile_name is None


def test_media_without_caption_is_a_media_message_served_by_chorus() -> None:
    item = only(
        PLUGIN.parse_inbound(request(message("image", {"id": "M1", "mime_type": "image/jpeg"})))
    )
    assert item.contact_message == {
        "media_message": {"url": "http://chorus.test/inbound/whatsapp/APP/media/M1"}
    }


def test_document_keeps_its_filename() -> None:
    item = only(
        PLUGIN.parse_inbound(request(message("document", {"id": "D1", "filename": "cv.pdf"})))
    )
    assert item.contact_message["media_message"]["filename_override"] == "cv.pdf"


def test_media_with_caption_is_a_media_card() -> None:
    item = only(PLUGIN.parse_inbound(request(message("video", {"id": "V1", "caption": "Look"}))))
    assert item.contact_message == {
        "media_card_message": {
            "url": "http://chorus.test/inbound/whatsapp/APP/media/V1",
            "caption": "Look",
        }
    }


def test_location() -> None:
    native = {"latitude": 59.3, "longitude": 18.1, "name": "Office", "address": "Main st 1"}
    item = only(PLUGIN.parse_inbound(request(message("location", native))))
    assert item.contact_message == {
        "location_message": {
            "coordinates": {"latitude": 59.3, "longitude": 18.1},
            "title": "Office",
            "label": "Main st 1",
        }
    }


CONTEXT = {"context": {"from": "15550001111", "id": "wamid.OUT1"}}


def test_button_reply_is_a_choice_response_with_the_id_as_postback() -> None:
    native = {"type": "button_reply", "button_reply": {"id": "newsletter_yes", "title": "Yes"}}
    item = only(
        PLUGIN.parse_inbound(
            request(message("interactive", native, context={"from": "1", "id": "wamid.OUT1"}))
        )
    )
    assert item.contact_message == {
        "choice_response_message": {"message_id": "", "postback_data": "newsletter_yes"}
    }
    assert item.reply_text == "newsletter_yes"
    assert item.context_native_id == "wamid.OUT1"
    # What it becomes when chorus stored no message wamid.OUT1 (inbound.service).
    fallback = item.unresolved_context["fallback_message"]
    assert fallback["reason"]["channel_code"] == "interactive"
    # Only tapped replies answer by their context: a flow reply is the same either way.
    nfm = {"name": "flow", "body": "Sent", "response_json": "{}"}
    flow = message("interactive", {"type": "nfm_reply", "nfm_reply": nfm}, **CONTEXT)
    assert only(PLUGIN.parse_inbound(request(flow))).unresolved_context is None


def test_a_default_choice_id_names_its_message() -> None:
    postback = "01HZY0000000000000000000AB_Salad"
    native = {"type": "list_reply", "list_reply": {"id": postback, "title": "Salad"}}
    item = only(PLUGIN.parse_inbound(request(message("interactive", native, **CONTEXT))))
    assert item.contact_message == {
        "choice_response_message": {
            "message_id": "01HZY0000000000000000000AB",
            "postback_data": postback,
        }
    }


def test_template_quick_reply_button() -> None:
    native = message("button", {"payload": "track", "text": "Track"}, **CONTEXT)
    item = only(PLUGIN.parse_inbound(request(native)))
    assert item.contact_message == {
        "choice_response_message": {"message_id": "", "postback_data": "track"}
    }
    assert item.unresolved_context["fallback_message"]["reason"]["channel_code"] == "button"


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("interactive", {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}}),
        (
            "interactive",
            {"type": "list_reply", "list_reply": {"id": "01HZY0000000000000000000AB_S"}},
        ),
        ("button", {"payload": "track", "text": "Track"}),
    ],
)
def test_a_tapped_reply_without_context_is_a_fallback_message(
    kind: str, body: dict[str, Any]
) -> None:
    """Only `context.id` says which message a tap answers (§2.7 table): without it the reply
    answers nothing of the app's, even with a default choice id in it."""
    raw = message(kind, body)
    item = only(PLUGIN.parse_inbound(request(raw)))
    fallback = item.contact_message["fallback_message"]
    native = raw["entry"][0]["changes"][0]["value"]["messages"][0]
    assert json.loads(fallback["raw_message"]) == native
    assert fallback["reason"]["code"] == "UNSUPPORTED_OPERATION"
    assert fallback["reason"]["channel_code"] == kind
    assert item.reply_text is None  # matches no option of the identity's last message
    assert item.unresolved_context is None


def test_flow_reply_is_channel_specific() -> None:
    nfm = {"name": "flow", "body": "Sent", "response_json": '{"a": 1}'}
    item = only(
        PLUGIN.parse_inbound(
            request(message("interactive", {"type": "nfm_reply", "nfm_reply": nfm}))
        )
    )
    assert item.contact_message == {
        "channel_specific_message": {"message_type": "nfm_reply", "message": nfm}
    }


def test_order_is_a_product_response() -> None:
    order = {
        "catalog_id": "cat-1",
        "text": "these please",
        "product_items": [
            {"product_retailer_id": "p1", "quantity": "2", "item_price": "9.5", "currency": "EUR"}
        ],
    }
    item = only(PLUGIN.parse_inbound(request(message("order", order))))
    assert item.contact_message == {
        "product_response_message": {
            "products": [
                {
                    "id": "p1",
                    "marketplace": "FACEBOOK",
                    "quantity": 2,
                    "item_price": 9.5,
                    "currency": "EUR",
                }
            ],
            "text": "these please",
            "catalog_id": "cat-1",
        }
    }


@pytest.mark.parametrize("kind", ["contacts", "unsupported"])
def test_contacts_and_unsupported_are_fallback_messages(kind: str) -> None:
    body: Any = [{"name": {"formatted_name": "Bo"}}] if kind == "contacts" else {}
    raw = message(kind, body)
    item = only(PLUGIN.parse_inbound(request(raw)))
    fallback = item.contact_message["fallback_message"]
    assert (
        json.loads(fallback["raw_message"]) == raw["entry"][0]["changes"][0]["value"]["messages"][0]
    )
    assert fallback["reason"]["code"] == "UNSUPPORTED_OPERATION"
    assert fallback["reason"]["channel_code"] == kind


@pytest.mark.parametrize("kind", ["reaction", "system", "ephemeral"])
def test_reactions_system_and_unknown_kinds_are_unmapped(kind: str) -> None:
    item = only(PLUGIN.parse_inbound(request(message(kind, {"emoji": "x"}))))
    assert isinstance(item, Unmapped)
    assert item.identity == "46732000000"


def test_other_change_fields_are_unmapped() -> None:
    item = only(PLUGIN.parse_inbound(request(webhook({"event": "X"}, "account_update"))))
    assert isinstance(item, Unmapped)


def quality_update(value: dict[str, Any]) -> dict[str, Any]:
    """As the Cloud API sends it: the value names the number by its display form only."""
    change = {"field": "phone_number_quality_update", "value": value}
    return {"object": "whatsapp_business_account", "entry": [{"id": "W", "changes": [change]}]}


def test_a_quality_update_is_a_channel_event() -> None:
    value = {"display_phone_number": "15550001111", "event": "FLAGGED", "current_limit": "T"}
    item = only(parse_webhook(request(quality_update(value)), phone_number_id=NUMBER_ID))
    assert item == ChannelEvent(
        event_type="WHATS_APP_QUALITY_RATING_CHANGED",
        additional_data={"quality_rating": "FLAGGED"},
    )
    # Without its rating it tells nothing: unmapped, as other changes are.
    for event in (None, "", 3, {"a": 1}):
        item = only(PLUGIN.parse_inbound(request(quality_update({"event": event}))))
        assert isinstance(item, Unmapped)


def test_a_change_for_another_number_is_ignored_when_the_number_is_known() -> None:
    """§2.7: ignored and recorded, no UNSUPPORTED callback to the app."""
    items = parse_webhook(request(message("text", {"body": "x"})), phone_number_id="999")
    assert isinstance(only(items), Ignored)


# --- statuses ---------------------------------------------------------------------------------


def status(name: str, **extra: Any) -> dict[str, Any]:
    return webhook(
        {
            "statuses": [
                {
                    "id": "wamid.OUT0",
                    "status": name,
                    "timestamp": "1714557601",
                    "recipient_id": "46732000000",
                    **extra,
                }
            ]
        }
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [("delivered", "DELIVERED"), ("read", "READ"), ("sent", ""), ("deleted", "")],
)
def test_statuses(name: str, expected: str) -> None:
    item = only(PLUGIN.parse_inbound(request(status(name))))
    assert isinstance(item, StatusReport)
    assert (item.status, item.native_id, item.identity) == (expected, "wamid.OUT0", "46732000000")


@pytest.mark.parametrize(
    ("code", "details", "reason"),
    [
        (131047, "", "OUTSIDE_ALLOWED_SENDING_WINDOW"),
        (131026, "", "RECIPIENT_NOT_REACHABLE"),
        (131053, "Media file size too big", "MEDIA_TOO_LARGE"),
        (131053, "Unsupported type", "MEDIA_TYPE_UNSUPPORTED"),
        (131050, "", "RECIPIENT_NOT_OPTED_IN"),
        (999999, "", "CHANNEL_FAILURE"),
    ],
)
def test_failed_statuses_map_their_code(code: int, details: str, reason: str) -> None:
    errors = [{"code": code, "title": "Boom", "error_data": {"details": details}}]
    item = only(PLUGIN.parse_inbound(request(status("failed", errors=errors))))
    assert item.status == "FAILED"
    assert item.reason["code"] == reason
    assert item.reason["channel_code"] == str(code)
    assert item.reason["description"].startswith("Boom")


def test_a_failed_status_with_errors_of_another_shape_is_still_a_failure() -> None:
    """`errors` as an object, not a list: it was a KeyError, and the whole webhook a 400."""
    for errors in ({"code": 131026}, "broken", [1]):
        item = only(PLUGIN.parse_inbound(request(status("failed", errors=errors))))
        assert item.status == "FAILED"
        assert item.reason["code"] == "CHANNEL_FAILURE"


def test_messages_and_statuses_in_one_change_are_all_reported() -> None:
    payload = message("text", {"body": "x"})
    payload["entry"][0]["changes"][0]["value"]["statuses"] = status("read")["entry"][0]["changes"][
        0
    ]["value"]["statuses"]
    kinds = [type(item) for item in PLUGIN.parse_inbound(request(payload))]
    assert kinds == [InboundMessage, StatusReport]


def test_invalid_json_is_refused() -> None:
    with pytest.raises(InboundRejected):
        PLUGIN.parse_inbound(NativeRequest(app_id="APP", headers={}, body=b"{"))


def test_typed_and_tapped_replies_name_options() -> None:
    from chorus.channels.base import ReplyOption

    options = [ReplyOption(1, "Yes", "newsletter_yes"), ReplyOption(2, "No", None)]
    assert PLUGIN.match_reply("newsletter_yes", options) == options[0]
    assert PLUGIN.match_reply("01HZY0000000000000000000AB_No", options) == options[1]
    assert PLUGIN.match_reply("2", options) == options[1]
    assert PLUGIN.match_reply("yes", options) == options[0]
    assert PLUGIN.match_reply("maybe", options) is None


@pytest.mark.parametrize("sender", [None, "", {"x": 1}, True])
def test_a_message_without_a_sender_is_unmapped_not_a_contact(sender: Any) -> None:
    """It became a contact with the identity "" (or the text of an object)."""
    payload = message("text", {"body": "hi"}, **{"from": sender})
    item = only(PLUGIN.parse_inbound(request(payload)))
    assert isinstance(item, Unmapped)


def test_a_location_that_is_not_on_the_globe_is_unmapped() -> None:
    for body in ({"latitude": "abc", "longitude": {"a": 1}}, {"name": "nowhere"}):
        item = only(PLUGIN.parse_inbound(request(message("location", body))))
        assert isinstance(item, Unmapped)
    item = only(PLUGIN.parse_inbound(request(message("location", {"latitude": 1, "longitude": 2}))))
    assert item.contact_message["location_message"]["coordinates"] == {
        "latitude": 1.0,
        "longitude": 2.0,
    }
