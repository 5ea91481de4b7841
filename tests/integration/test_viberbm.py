"""VIBERBM end to end through the simulator (CHANNELS.md part 2 §2): a real server, the fake of
the chorus-owned API, signed status and message callbacks, the control API."""

import hashlib
import hmac
import json
import random
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import Server
from tests.integration.helpers import recording_webhook, wait_for

SECRET = "bm-secret"


def msisdn() -> str:
    return f"4673{random.randrange(10**7):07d}"


@pytest.fixture
def service_id() -> str:
    return f"SVC{uuid.uuid4().hex[:10]}"


@pytest.fixture
def app_id(api: httpx.Client, service_id: str) -> str:
    body = {
        "display_name": f"viberbm-{uuid.uuid4().hex[:6]}",
        "channel_credentials": [
            {
                "channel": "VIBERBM",
                "static_bearer": {"claimed_identity": service_id, "token": "bm-token"},
                "callback_secret": SECRET,
            }
        ],
    }
    response = api.post("/apps", json=body)
    assert response.status_code == 200, response.text
    app = response.json()["id"]
    recording_webhook(api, app)
    return app


def to(number: str) -> dict[str, Any]:
    return {"identified_by": {"channel_identities": [{"channel": "VIBERBM", "identity": number}]}}


def send(api: httpx.Client, app_id: str, number: str, message: dict[str, Any]) -> str:
    response = api.post(
        "/messages:send", json={"app_id": app_id, "recipient": to(number), "message": message}
    )
    assert response.status_code == 200, response.text
    return response.json()["message_id"]


def reports(server: Server, app_id: str, message_id: str) -> list[dict[str, Any]]:
    return [
        c["message_delivery_report"]
        for c in server.recorded_callbacks(app_id)
        if c["trigger"] == "MESSAGE_DELIVERY"
        and c["message_delivery_report"]["message_id"] == message_id
    ]


def wait_for_status(server: Server, app_id: str, message_id: str, status: str) -> dict[str, Any]:
    return wait_for(
        lambda: next(
            (r for r in reports(server, app_id, message_id) if r["status"] == status), None
        ),
        what=f"{status} for {message_id}: {reports(server, app_id, message_id)}",
    )


def handset(server: Server, number: str) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/simulator/v1/handsets/viberbm/{number}")
    assert response.status_code == 200, response.text
    return response.json()


def received(server: Server, number: str) -> list[dict[str, Any]]:
    return [m for m in handset(server, number)["inbox"] if m["direction"] == "received"]


def patch(server: Server, number: str, **settings: Any) -> None:
    response = httpx.patch(f"{server.url}/simulator/v1/handsets/viberbm/{number}", json=settings)
    assert response.status_code == 200, response.text


def handset_sends(server: Server, app_id: str, number: str, message: dict[str, Any]) -> None:
    response = httpx.post(
        f"{server.url}/simulator/v1/handsets/viberbm/{number}/messages",
        json={"app_id": app_id, **message},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status_code"] == 200, response.text


def inbound(server: Server, app_id: str) -> list[dict[str, Any]]:
    return [
        c["message"] for c in server.recorded_callbacks(app_id) if c["trigger"] == "MESSAGE_INBOUND"
    ]


CARD_CHOICE = {"url_message": {"title": "Open", "url": "https://shop.example.com/sale"}}
# generic message → (native type, what the Viber user sees)
MESSAGE_TYPES: list[tuple[dict[str, Any], str, str]] = [
    ({"text_message": {"text": "Hello *there*"}}, "text", "Hello *there*"),
    (
        {"media_message": {"url": "https://cdn.example.com/p.jpg"}},
        "image",
        "https://cdn.example.com/p.jpg",
    ),
    (
        {
            "media_message": {
                "url": "https://cdn.example.com/v.mp4",
                "thumbnail_url": "https://cdn.example.com/v.jpg",
            }
        },
        "video",
        "https://cdn.example.com/v.mp4",
    ),
    (
        {"media_message": {"url": "https://cdn.example.com/terms.pdf"}},
        "file",
        "terms.pdf: https://cdn.example.com/terms.pdf",
    ),
    (
        {"media_message": {"url": "https://cdn.example.com/a.mp3"}},
        "text",
        "https://cdn.example.com/a.mp3",
    ),
    (
        {"choice_message": {"text_message": {"text": "Terms"}, "choices": [CARD_CHOICE]}},
        "text",
        "Terms\n[Open]",
    ),
    (
        {
            "choice_message": {
                "text_message": {"text": "Pick"},
                "choices": [{"text_message": {"text": "A"}}, {"text_message": {"text": "B"}}],
            }
        },
        "text",
        "Pick\n1. A\n2. B",
    ),
    (
        {
            "card_message": {
                "title": "Sale",
                "media_message": {"url": "https://cdn.example.com/s.png"},
                "choices": [CARD_CHOICE],
            }
        },
        "card",
        "Sale\nhttps://cdn.example.com/s.png\n[Open]",
    ),
    (
        {"carousel_message": {"cards": [{"title": "One"}, {"title": "Two"}]}},
        "text",
        "One\n\nTwo",
    ),
    (
        {
            "location_message": {
                "title": "HQ",
                "coordinates": {"latitude": 59.3251, "longitude": 18.0711},
            }
        },
        "text",
        "HQ\nhttps://maps.google.com/?q=59.3251,18.0711",
    ),
    (
        {
            "contact_info_message": {
                "name": {"full_name": "Ada"},
                "phone_numbers": [{"phone_number": "+46732000000"}],
            }
        },
        "text",
        "Ada\nTel: +46732000000",
    ),
    (
        {
            "list_message": {
                "title": "Slots",
                "sections": [{"items": [{"choice": {"title": "9:00"}}]}],
            }
        },
        "text",
        "Slots\n1. 9:00",
    ),
]


def test_every_message_type_reaches_the_handset_delivered_and_read(
    server: Server, api: httpx.Client, app_id: str, service_id: str
) -> None:
    number = msisdn()
    sent = [(send(api, app_id, number, m), kind, text) for m, kind, text in MESSAGE_TYPES]
    for message_id, _, _ in sent:
        wait_for_status(server, app_id, message_id, "READ")
        statuses = [r["status"] for r in reports(server, app_id, message_id)]
        assert statuses == ["QUEUED_ON_CHANNEL", "DELIVERED", "READ"], statuses
    inbox = wait_for(
        lambda: len(received(server, number)) == len(sent) and received(server, number)
    )
    by_ref = {entry["request"]["client_ref"]: entry for entry in inbox}
    for message_id, kind, text in sent:
        entry = by_ref[message_id]
        assert entry["request"]["type"] == kind, entry
        assert entry["request"]["receiver"] == number
        assert entry["request"]["message_class"] == "transactional"
        assert entry["text"] == text
    report = reports(server, app_id, sent[0][0])[-1]
    assert report["channel_identity"] == {"channel": "VIBERBM", "identity": number, "app_id": ""}


def test_a_reply_arrives_on_the_same_contact_and_conversation_and_opens_a_session(
    server: Server, api: httpx.Client, app_id: str
) -> None:
    number = msisdn()
    first = send(api, app_id, number, {"text_message": {"text": "Hi"}})
    delivered = wait_for_status(server, app_id, first, "DELIVERED")
    handset_sends(server, app_id, number, {"text_message": {"text": "Hello back"}})
    [message] = wait_for(lambda: inbound(server, app_id))
    assert message["contact_message"] == {"text_message": {"text": "Hello back"}}
    assert message["channel_identity"]["identity"] == number
    assert message["contact_id"] == delivered["contact_id"]
    assert message["conversation_id"] == delivered["conversation_id"]
    # Within the 24-hour session the next message goes as `session`.
    second = send(api, app_id, number, {"text_message": {"text": "In session"}})
    wait_for_status(server, app_id, second, "DELIVERED")
    entry = next(e for e in received(server, number) if e["request"]["client_ref"] == second)
    assert entry["request"]["message_class"] == "session"


def test_media_location_and_stickers_from_the_handset(
    server: Server, api: httpx.Client, app_id: str
) -> None:
    number = msisdn()
    handset_sends(server, app_id, number, {"media_message": {"url": "https://m.example/a.jpg"}})
    handset_sends(
        server,
        app_id,
        number,
        {"location_message": {"title": "", "coordinates": {"latitude": 1.5, "longitude": 2.5}}},
    )
    handset_sends(server, app_id, number, {"fallback_message": {"raw_message": "sticker"}})
    messages = wait_for(lambda: len(inbound(server, app_id)) == 3 and inbound(server, app_id))
    contents = [m["contact_message"] for m in messages]
    assert contents[0] == {"media_message": {"url": "https://m.example/a.jpg"}}
    assert contents[1]["location_message"]["coordinates"] == {"latitude": 1.5, "longitude": 2.5}
    assert contents[2]["fallback_message"]["reason"]["code"] == "UNSUPPORTED_OPERATION"


def test_a_numbered_reply_to_a_degraded_choice_is_a_choice_response(
    server: Server, api: httpx.Client, app_id: str
) -> None:
    number = msisdn()
    choice = {
        "choice_message": {
            "text_message": {"text": "How can we help?"},
            "choices": [
                {"text_message": {"text": "Track order"}, "postback_data": "track"},
                {"text_message": {"text": "Talk to a person"}},
            ],
        }
    }
    message_id = send(api, app_id, number, choice)
    wait_for_status(server, app_id, message_id, "DELIVERED")
    handset_sends(server, app_id, number, {"text_message": {"text": "1"}})
    handset_sends(server, app_id, number, {"text_message": {"text": "2"}})
    messages = wait_for(lambda: len(inbound(server, app_id)) == 2 and inbound(server, app_id))
    assert [m["contact_message"] for m in messages] == [
        {"choice_response_message": {"message_id": message_id, "postback_data": "track"}},
        {
            "choice_response_message": {
                "message_id": message_id,
                "postback_data": f"{message_id}_Talk to a person",
            }
        },
    ]


@pytest.mark.parametrize(
    ("settings", "reason", "channel_code"),
    [
        ({"fail_next": "USER_BLOCKED"}, "RECIPIENT_NOT_OPTED_IN", "USER_BLOCKED"),
        ({"fail_next": "expired"}, "DELIVERY_TIMED_OUT", "EXPIRED"),
        ({"fail_next": "NO_SESSION"}, "OUTSIDE_ALLOWED_SENDING_WINDOW", "NO_SESSION"),
        ({"reachable": False}, "RECIPIENT_NOT_REACHABLE", "NOT_VIBER_USER"),
        ({"capability": "NO_CAPABILITY"}, "RECIPIENT_NOT_REACHABLE", "NOT_VIBER_USER"),
    ],
)
def test_failures_end_failed_with_the_mapped_reason(
    server: Server,
    api: httpx.Client,
    app_id: str,
    settings: dict[str, Any],
    reason: str,
    channel_code: str,
) -> None:
    number = msisdn()
    patch(server, number, **settings)
    message_id = send(api, app_id, number, {"text_message": {"text": "Hi"}})
    failed = wait_for_status(server, app_id, message_id, "FAILED")
    assert failed["reason"]["code"] == reason
    assert failed["reason"]["channel_code"] == channel_code
    assert "DELIVERED" not in [r["status"] for r in reports(server, app_id, message_id)]


def test_throttling_is_retried_and_then_delivered(
    server: Server, api: httpx.Client, app_id: str
) -> None:
    number = msisdn()
    patch(server, number, fail_next="THROTTLED")
    message_id = send(api, app_id, number, {"text_message": {"text": "Hi"}})
    wait_for_status(server, app_id, message_id, "DELIVERED")
    assert handset(server, number)["settings"]["fail_next"] is None


def test_a_body_over_1000_characters_fails_bad_request(
    server: Server, api: httpx.Client, app_id: str
) -> None:
    number = msisdn()
    message_id = send(api, app_id, number, {"text_message": {"text": "x" * 1001}})
    failed = wait_for_status(server, app_id, message_id, "FAILED")
    assert failed["reason"]["code"] == "BAD_REQUEST"


def test_an_unknown_fail_next_code_is_refused(server: Server) -> None:
    response = httpx.patch(
        f"{server.url}/simulator/v1/handsets/viberbm/{msisdn()}", json={"fail_next": "NOPE"}
    )
    assert response.status_code == 400


def test_a_bad_signature_is_refused_and_recorded(server: Server, app_id: str) -> None:
    body = json.dumps(
        {
            "type": "message",
            "id": f"vbm_mo_{uuid.uuid4().hex}",
            "sender": msisdn(),
            "content": {"type": "text", "text": "forged"},
        }
    ).encode()
    url = f"{server.url}/inbound/viberbm/{app_id}"
    for headers in ({}, {"x-chorus-signature": "sha256=" + "0" * 64}):
        response = httpx.post(url, content=body, headers=headers)
        assert response.status_code == 401, response.text
    rows = server.query(
        "SELECT outcome FROM inbound_requests WHERE app_id = :a AND channel = 'VIBERBM'", a=app_id
    )
    assert [r["outcome"] for r in rows] == ["rejected", "rejected"]
    good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert httpx.post(url, content=body, headers={"x-chorus-signature": good}).status_code == 200


def test_the_fake_api_refuses_a_bad_token_and_a_malformed_body(
    server: Server, app_id: str, service_id: str
) -> None:
    url = f"{server.url}/simulator/viberbm/viberbm/v1/services/{service_id}/messages"
    good = {
        "client_ref": "not-a-chorus-message",
        "receiver": msisdn(),
        "type": "text",
        "text": "hi",
    }
    response = httpx.post(url, json=good, headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    auth = {"Authorization": "Bearer bm-token"}
    for body, status, code in (
        ({**good, "receiver": "12"}, 400, "INVALID_RECEIVER"),
        ({**good, "type": "sticker"}, 400, "INVALID_REQUEST"),
        ({**good, "text": "x" * 1001}, 400, "INVALID_REQUEST"),
        (
            {**good, "type": "image", "image_url": "https://c.example/a.gif"},
            422,
            "MEDIA_TYPE_UNSUPPORTED",
        ),
    ):
        response = httpx.post(url, json=body, headers=auth)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    unknown = f"{server.url}/simulator/viberbm/viberbm/v1/services/nope-{service_id}/messages"
    response = httpx.post(unknown, json=good, headers=auth)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "UNKNOWN_SERVICE")
    response = httpx.post(url, json=good, headers=auth)
    assert response.status_code == 202 and response.json()["status"] == "accepted"


def test_messages_transcode_shows_the_native_body(api: httpx.Client, app_id: str) -> None:
    response = api.post(
        "/messages:transcode",
        json={
            "app_id": app_id,
            "app_message": {
                "card_message": {
                    "title": "Sale",
                    "media_message": {"url": "https://cdn.example.com/s.jpg"},
                    "choices": [CARD_CHOICE],
                }
            },
            "channels": ["VIBERBM"],
        },
    )
    assert response.status_code == 200, response.text
    native = json.loads(response.json()["transcoded_message"]["VIBERBM"])
    assert {k: v for k, v in native.items() if k != "client_ref"} == {
        "message_class": "transactional",
        "ttl": 86400,
        "type": "card",
        "text": "Sale",
        "image_url": "https://cdn.example.com/s.jpg",
        "button": {"caption": "Open", "action": "open_url", "url": "https://shop.example.com/sale"},
    }
