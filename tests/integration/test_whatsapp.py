"""WhatsApp end to end: messages:send → the connector → the simulated Cloud API → signed
status webhooks → delivery callbacks; handsets writing back (CHANNELS.md part 1 §2)."""

import hashlib
import hmac
import json
import random
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sinch.domains.conversation.sinch_events.v1.conversation_sinch_event import (
    ConversationSinchEvent,
)

from tests.conftest import Server
from tests.integration.helpers import recording_webhook, wait_for

SECRET = "wa-app-secret"


@dataclass
class WhatsAppApp:
    id: str
    number_id: str


@pytest.fixture
def app(api: httpx.Client) -> WhatsAppApp:
    number_id = str(random.randrange(10**14, 10**15))
    credential = {
        "channel": "WHATSAPP",
        "static_bearer": {"claimed_identity": number_id, "token": uuid.uuid4().hex},
        "callback_secret": SECRET,
    }
    response = api.post("/apps", json={"display_name": "wa", "channel_credentials": [credential]})
    assert response.status_code == 200, response.text
    app_id = response.json()["id"]
    recording_webhook(api, app_id)
    return WhatsAppApp(app_id, number_id)


def msisdn() -> str:
    return f"4671{random.randrange(10**7):07d}"


def control(server: Server) -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}/simulator/v1", timeout=30)


def handset_sends(server: Server, number: str, app_id: str, **content: Any) -> dict[str, Any]:
    with control(server) as client:
        response = client.post(
            f"/handsets/whatsapp/{number}/messages", json={"app_id": app_id, **content}
        )
    assert response.status_code == 200, response.text
    assert response.json()["status_code"] == 200, response.text
    return response.json()


def patch_handset(server: Server, number: str, **settings: Any) -> None:
    with control(server) as client:
        response = client.patch(f"/handsets/whatsapp/{number}", json=settings)
    assert response.status_code == 200, response.text


def inbox(server: Server, number: str) -> list[dict[str, Any]]:
    with control(server) as client:
        response = client.get(f"/handsets/whatsapp/{number}")
    return response.json()["inbox"] if response.status_code == 200 else []


def send(api: httpx.Client, app_id: str, number: str, message: dict[str, Any]) -> str:
    response = api.post(
        "/messages:send",
        json={
            "app_id": app_id,
            "recipient": {
                "identified_by": {
                    "channel_identities": [{"channel": "WHATSAPP", "identity": number}]
                }
            },
            "message": message,
        },
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


def statuses_until(server: Server, app_id: str, message_id: str, final: str) -> list[dict]:
    return wait_for(
        lambda: (
            (found := reports(server, app_id, message_id))
            and found[-1]["status"] == final
            and found
        ),
        what=f"{final} for {message_id}",
    )


def inbound(server: Server, app_id: str) -> list[dict[str, Any]]:
    return [c for c in server.recorded_callbacks(app_id) if c["trigger"] == "MESSAGE_INBOUND"]


def open_window(server: Server, app: WhatsAppApp, number: str) -> dict[str, Any]:
    """The handset writes first; returns the MESSAGE_INBOUND callback."""
    before = len(inbound(server, app.id))
    handset_sends(server, number, app.id, text_message={"text": "hello"})
    return wait_for(
        lambda: len(found := inbound(server, app.id)) > before and found[-1],
        what="MESSAGE_INBOUND",
    )


MESSAGES: list[tuple[str, dict[str, Any], str]] = [
    ("text", {"text_message": {"text": "Hi there"}}, "Hi there"),
    ("image", {"media_message": {"url": "https://cdn.example.com/a.jpg"}}, "a.jpg"),
    ("document", {"media_message": {"url": "https://cdn.example.com/r.pdf"}}, "r.pdf"),
    (
        "choice",
        {
            "choice_message": {
                "text_message": {"text": "Newsletter?"},
                "choices": [
                    {"text_message": {"text": "Yes"}, "postback_data": "nl_yes"},
                    {"text_message": {"text": "No"}},
                ],
            }
        },
        "[Yes]",
    ),
    (
        "card",
        {
            "card_message": {
                "title": "Sale",
                "description": "20% off",
                "media_message": {"url": "https://cdn.example.com/s.jpg"},
            }
        },
        "20% off",
    ),
    (
        "carousel",
        {"carousel_message": {"cards": [{"title": "A"}, {"title": "B"}]}},
        "A\n\nB",
    ),
    (
        "location",
        {
            "location_message": {
                "coordinates": {"latitude": 59.3, "longitude": 18.1},
                "title": "Office",
            }
        },
        "Office",
    ),
    (
        "contact_info",
        {
            "contact_info_message": {
                "name": {"full_name": "Ann"},
                "phone_numbers": [{"phone_number": "46700000001"}],
            }
        },
        "Ann",
    ),
    (
        "list",
        {
            "list_message": {
                "title": "Menu",
                "sections": [
                    {"items": [{"choice": {"title": "Soup"}}, {"choice": {"title": "Salad"}}]}
                ],
            }
        },
        "- Salad",
    ),
]


def test_every_message_type_is_delivered_and_read_in_the_handset(
    server: Server, api: httpx.Client, app: WhatsAppApp
) -> None:
    number = msisdn()
    first = open_window(server, app, number)
    assert first["message"]["contact_message"] == {"text_message": {"text": "hello"}}
    sent = {name: send(api, app.id, number, message) for name, message, _ in MESSAGES}
    for name, message_id in sent.items():
        history = statuses_until(server, app.id, message_id, "READ")
        assert [r["status"] for r in history] == ["QUEUED_ON_CHANNEL", "DELIVERED", "READ"], name
        assert history[0]["channel_identity"]["channel"] == "WHATSAPP"
    # Workers dispatch concurrently, so the inbox order is not the send order.
    received = [e for e in inbox(server, number) if e["direction"] == "received"]
    assert len(received) == len(MESSAGES)
    for name, _message, visible in MESSAGES:
        assert any(visible in entry["text"] for entry in received), name
    for entry in received:
        assert entry["request"]["messaging_product"] == "whatsapp"
        assert entry["request"]["to"] == number
    kinds = sorted(e["request"]["type"] for e in received)
    assert kinds == sorted(
        [
            *("text", "image", "document", "interactive", "image"),
            *("text", "location", "contacts", "interactive"),
        ]
    )


def test_a_new_contact_takes_the_senders_whatsapp_profile_name(
    server: Server, api: httpx.Client, app: WhatsAppApp
) -> None:
    number = msisdn()
    first = open_window(server, app, number)
    contact = api.get(f"/contacts/{first['message']['contact_id']}").json()
    assert contact["display_name"] == f"Handset {number}"  # the simulator's profile name


def test_a_wa_id_other_than_the_number_becomes_a_second_identity_of_the_contact(
    server: Server, api: httpx.Client, app: WhatsAppApp
) -> None:
    """WhatsApp answers a send with the number it knows the user by (CHANNELS.md §2.1): the
    contact gains it, so the user's traffic from it reaches the same contact."""
    number = msisdn()
    first = open_window(server, app, number)
    contact_id = first["message"]["contact_id"]
    canonical = number + "1"  # as when a country inserts a digit
    patch_handset(server, number, wa_id=f"+{canonical}")
    statuses_until(server, app.id, send(api, app.id, number, MESSAGES[0][1]), "READ")
    identities = api.get(f"/contacts/{contact_id}").json()["channel_identities"]
    assert [(i["channel"], i["identity"]) for i in identities] == [
        ("WHATSAPP", number),
        ("WHATSAPP", canonical),
    ]
    # Announced as a contact update, with both identities.
    updates = contact_updates(server, app.id, contact_id)
    assert len(updates) == 1
    assert updates[0]["channel_identities"] == identities
    # From the canonical number (another handset of the simulator, as WhatsApp would key it).
    reply = open_window(server, app, canonical)
    assert reply["message"]["contact_id"] == contact_id
    # A second send learns nothing new.
    statuses_until(server, app.id, send(api, app.id, number, MESSAGES[0][1]), "READ")
    assert len(api.get(f"/contacts/{contact_id}").json()["channel_identities"]) == 2
    assert len(contact_updates(server, app.id, contact_id)) == 1


def contact_updates(server: Server, app_id: str, contact_id: str) -> list[dict[str, Any]]:
    return [
        c["contact_update_notification"]["contact"]
        for c in server.recorded_callbacks(app_id)
        if c["trigger"] == "CONTACT_UPDATE"
        and c["contact_update_notification"]["contact"]["id"] == contact_id
    ]


def test_replies_and_choice_responses_come_back_on_the_same_conversation(
    server: Server, api: httpx.Client, app: WhatsAppApp
) -> None:
    number = msisdn()
    first = open_window(server, app, number)
    choice = send(api, app.id, number, MESSAGES[3][1])
    statuses_until(server, app.id, choice, "READ")
    report = reports(server, app.id, choice)[0]
    assert report["conversation_id"] == first["message"]["conversation_id"]

    handset_sends(
        server,
        number,
        app.id,
        choice_response_message={"message_id": choice, "postback_data": "nl_yes"},
    )
    handset_sends(
        server,
        number,
        app.id,
        choice_response_message={"message_id": choice, "postback_data": f"{choice}_No"},
    )
    handset_sends(
        server,
        number,
        app.id,
        location_message={"coordinates": {"latitude": 1, "longitude": 2}, "title": "Here"},
    )
    handset_sends(server, number, app.id, media_message={"url": "https://cdn.example.com/p.jpg"})
    found = wait_for(lambda: len(items := inbound(server, app.id)) >= 5 and items, what="inbound")
    contents = [c["message"]["contact_message"] for c in found[1:5]]
    # A tap quotes the message it answers (`context.id`), which becomes `reply_to` too (§2.7).
    assert contents[0] == {
        "choice_response_message": {"message_id": choice, "postback_data": "nl_yes"},
        "reply_to": {"message_id": choice},
    }
    assert contents[1] == {
        "choice_response_message": {"message_id": choice, "postback_data": f"{choice}_No"},
        "reply_to": {"message_id": choice},
    }
    assert contents[2]["location_message"]["title"] == "Here"
    assert f"/inbound/whatsapp/{app.id}/media/" in contents[3]["media_message"]["url"]
    for callback in found:
        assert callback["message"]["contact_id"] == first["message"]["contact_id"]
        assert callback["message"]["conversation_id"] == first["message"]["conversation_id"]
        assert callback["message"]["channel_identity"]["identity"] == number


@pytest.mark.parametrize(
    ("settings", "reason", "code"),
    [
        ({"fail_next": 131026}, "RECIPIENT_NOT_REACHABLE", "131026"),
        ({"fail_next": 368}, "DELIVERY_REJECTED_DUE_TO_POLICY", "368"),
        ({"reachable": False}, "RECIPIENT_NOT_REACHABLE", "131026"),
        ({"capability": "NO_CAPABILITY"}, "RECIPIENT_NOT_REACHABLE", "131026"),
    ],
)
def test_failures_report_the_mapped_reason(
    server: Server,
    api: httpx.Client,
    app: WhatsAppApp,
    settings: dict[str, Any],
    reason: str,
    code: str,
) -> None:
    number = msisdn()
    open_window(server, app, number)
    patch_handset(server, number, **settings)
    message_id = send(api, app.id, number, {"text_message": {"text": "x"}})
    history = statuses_until(server, app.id, message_id, "FAILED")
    assert [r["status"] for r in history] == ["QUEUED_ON_CHANNEL", "FAILED"]
    assert history[-1]["reason"]["code"] == reason
    assert history[-1]["reason"]["channel_code"] == code


def test_outside_the_window_a_message_fails_without_reaching_the_handset(
    server: Server, api: httpx.Client, app: WhatsAppApp
) -> None:
    number = msisdn()
    message_id = send(api, app.id, number, {"text_message": {"text": "cold"}})
    history = statuses_until(server, app.id, message_id, "FAILED")
    assert [r["status"] for r in history] == ["FAILED"]
    assert history[-1]["reason"]["code"] == "OUTSIDE_ALLOWED_SENDING_WINDOW"
    assert not [e for e in inbox(server, number) if e["direction"] == "received"]


def test_the_simulated_cloud_api_refuses_bad_tokens_and_bodies_as_graph_does(
    server: Server, app: WhatsAppApp
) -> None:
    url = f"{server.url}/simulator/whatsapp/v21.0/{app.number_id}/messages"
    bad_token = httpx.post(url, json={}, headers={"authorization": "Bearer nope"})
    assert bad_token.status_code == 401
    assert bad_token.json()["error"]["code"] == 190
    token = server.query("SELECT channel_credentials FROM apps WHERE id = :a", a=app.id)[0][
        "channel_credentials"
    ]
    token = (json.loads(token) if isinstance(token, str) else token)[0]["static_bearer"]["token"]
    malformed = httpx.post(
        url, json={"to": "46700000001"}, headers={"authorization": f"Bearer {token}"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == 100


def test_a_bad_signature_is_refused_and_recorded(server: Server, app: WhatsAppApp) -> None:
    body = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()
    wrong = "sha256=" + hmac.new(b"other", body, hashlib.sha256).hexdigest()
    for headers in ({}, {"x-hub-signature-256": wrong}):
        response = httpx.post(
            f"{server.url}/inbound/whatsapp/{app.id}",
            content=body,
            headers={"content-type": "application/json", **headers},
        )
        assert response.status_code == 401
    rows = server.query(
        "SELECT outcome FROM inbound_requests WHERE app_id = :a AND channel = 'WHATSAPP'", a=app.id
    )
    assert [r["outcome"] for r in rows] == ["rejected", "rejected"]
    good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    accepted = httpx.post(
        f"{server.url}/inbound/whatsapp/{app.id}",
        content=body,
        headers={"content-type": "application/json", "x-hub-signature-256": good},
    )
    assert accepted.status_code == 200


def post_signed(server: Server, app_id: str, payload: dict[str, Any]) -> httpx.Response:
    body = json.dumps(payload).encode()
    good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return httpx.post(
        f"{server.url}/inbound/whatsapp/{app_id}",
        content=body,
        headers={"content-type": "application/json", "x-hub-signature-256": good},
    )


def status_webhook(app: WhatsAppApp, wamid: str, number: str, at: datetime) -> dict[str, Any]:
    """A Cloud API webhook with one `delivered` status (CHANNELS.md part 1 §2.7)."""
    status = {
        "id": wamid,
        "status": "delivered",
        "timestamp": str(int(at.timestamp())),
        "recipient_id": number,
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": app.number_id},
        "statuses": [status],
    }
    entry = {"id": "waba", "changes": [{"field": "messages", "value": value}]}
    return {"object": "whatsapp_business_account", "entry": [entry]}


def test_a_status_about_an_unrecorded_send_is_asked_again_until_it_is_ten_minutes_old(
    server: Server, app: WhatsAppApp
) -> None:
    """A status may overtake the record of the send it answers: 503, and the Cloud API
    delivers it again. One more than ten minutes old (by its own time) answers no send of
    chorus's (another system on the number, a send that ran again after a crash): 200, kept
    as ignored, so Meta stops redelivering it for days."""
    number, wamid = msisdn(), f"wamid.{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    fresh = post_signed(server, app.id, status_webhook(app, wamid, number, now))
    assert fresh.status_code == 503, fresh.text
    assert fresh.headers["retry-after"] == "1"
    assert wamid in fresh.json()["error"]["message"]
    nine = post_signed(
        server, app.id, status_webhook(app, wamid, number, now - timedelta(minutes=9))
    )
    assert nine.status_code == 503, nine.text
    stale = status_webhook(app, wamid, number, now - timedelta(minutes=11))
    answer = post_signed(server, app.id, stale)
    assert answer.status_code == 200, answer.text
    rows = server.query(
        "SELECT outcome, detail, body FROM inbound_requests WHERE app_id = :a", a=app.id
    )
    assert [(r["outcome"], r["detail"]) for r in rows] == [
        ("ignored", "report about an unknown message")
    ], rows
    assert wamid in rows[0]["body"]


def test_messages_transcode_returns_the_cloud_api_body(api: httpx.Client, app: WhatsAppApp) -> None:
    response = api.post(
        "/messages:transcode",
        json={
            "app_id": app.id,
            "app_message": MESSAGES[3][1],
            "channels": ["WHATSAPP"],
            "to": "46700000001",
        },
    )
    assert response.status_code == 200, response.text
    native = json.loads(response.json()["transcoded_message"]["WHATSAPP"])
    assert native["type"] == "interactive"
    assert native["interactive"]["type"] == "button"
    assert native["interactive"]["action"]["buttons"][0]["reply"] == {
        "id": "nl_yes",
        "title": "Yes",
    }


def test_inbound_media_is_served_at_the_url_chorus_gives_the_app(
    server: Server, app: WhatsAppApp
) -> None:
    """WhatsApp hands out media ids; chorus fetches the file from the Cloud API with the app's
    token when the app follows the URL it was given."""
    number = f"4670{random.randrange(10**7):07d}"
    open_window(server, app, number)
    before = len(inbound(server, app.id))
    # The handset "sends" a file the test can fetch: chorus's own /healthz answer.
    handset_sends(server, number, app.id, media_message={"url": f"{server.url}/healthz"})
    found = wait_for(
        lambda: len(items := inbound(server, app.id)) > before and items[-1], what="media"
    )
    url = found["message"]["contact_message"]["media_message"]["url"]
    assert f"/inbound/whatsapp/{app.id}/media/" in url
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert httpx.get(url.rsplit("/", 1)[0] + "/unknown-media-id").status_code == 404


def message_webhook(app: WhatsAppApp, message: dict[str, Any]) -> dict[str, Any]:
    """A Cloud API `messages` change with one message from a handset (§2.7)."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": app.number_id},
        "contacts": [{"profile": {"name": "Ann"}, "wa_id": message["from"]}],
        "messages": [message],
    }
    entry = {"id": "waba", "changes": [{"field": "messages", "value": value}]}
    return {"object": "whatsapp_business_account", "entry": [entry]}


def tapped(number: str, kind: str, content: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "from": number,
        "id": f"wamid.{uuid.uuid4().hex}",
        "timestamp": str(int(datetime.now(UTC).timestamp())),
        "type": kind,
        kind: content,
        **extra,
    }


def test_a_tapped_reply_without_resolvable_context_is_a_fallback_message(
    server: Server, api: httpx.Client, app: WhatsAppApp
) -> None:
    """Only `context.id` says which message a tap answers (§2.7 table): without one, or with
    one chorus never stored, the reply is a fallback_message with the native message, never
    matched to the identity's latest choice (which here offers the very same id)."""
    number = msisdn()
    open_window(server, app, number)
    statuses_until(server, app.id, send(api, app.id, number, MESSAGES[3][1]), "READ")
    button_reply = {"type": "button_reply", "button_reply": {"id": "nl_yes", "title": "Yes"}}
    list_reply = {"type": "list_reply", "list_reply": {"id": "nl_yes", "title": "Yes"}}
    unknown = {"context": {"from": "15550000000", "id": f"wamid.{uuid.uuid4().hex}"}}
    natives = [
        tapped(number, "interactive", button_reply),
        tapped(number, "interactive", list_reply, **unknown),
        tapped(number, "button", {"payload": "nl_yes", "text": "Yes"}),
        tapped(number, "button", {"payload": "nl_yes", "text": "Yes"}, **unknown),
    ]
    before = len(inbound(server, app.id))
    for native in natives:
        assert post_signed(server, app.id, message_webhook(app, native)).status_code == 200
    found = wait_for(
        lambda: len(items := inbound(server, app.id)) >= before + 4 and items[before:],
        what="the tapped replies",
    )
    for native, callback in zip(natives, found, strict=True):
        content = callback["message"]["contact_message"]
        assert list(content) == ["fallback_message"], content
        fallback = content["fallback_message"]
        assert json.loads(fallback["raw_message"]) == native
        assert fallback["reason"]["code"] == "UNSUPPORTED_OPERATION"
        assert fallback["reason"]["channel_code"] == native["type"]
        assert callback["message"]["metadata"] == ""


def test_a_tap_in_the_simulator_quotes_the_message_it_answers(
    server: Server, api: httpx.Client, app: WhatsAppApp
) -> None:
    """As WhatsApp does, the handset's button reply carries `context.id`: the wamid of the
    message whose button it taps. It is what makes the reply a choice response."""
    number = msisdn()
    open_window(server, app, number)
    choice = send(api, app.id, number, MESSAGES[3][1])
    statuses_until(server, app.id, choice, "READ")
    # A later message with the same options: the tap still answers the one it quotes.
    statuses_until(server, app.id, send(api, app.id, number, MESSAGES[3][1]), "READ")
    [wamid] = [
        r["native_id"]
        for r in server.query(
            "SELECT native_id FROM channel_message_refs WHERE message_id = :m", m=choice
        )
    ]
    before = len(inbound(server, app.id))
    answer = handset_sends(
        server,
        number,
        app.id,
        choice_response_message={"message_id": choice, "postback_data": f"{choice}_No"},
    )
    native = answer["native"]["entry"][0]["changes"][0]["value"]["messages"][0]
    assert native["type"] == "interactive"
    assert native["context"]["id"] == wamid
    found = wait_for(
        lambda: len(items := inbound(server, app.id)) > before and items[-1], what="the tap"
    )
    assert found["message"]["contact_message"] == {
        "choice_response_message": {"message_id": choice, "postback_data": f"{choice}_No"},
        "reply_to": {"message_id": choice},
    }
    # A handset can only tap a button it was shown.
    with control(server) as client:
        refused = client.post(
            f"/handsets/whatsapp/{number}/messages",
            json={
                "app_id": app.id,
                "choice_response_message": {
                    "message_id": "01NOSUCHMESSAGE00000000000",
                    "postback_data": "x",
                },
            },
        )
    assert refused.status_code == 400, refused.text
    assert "choice_response_message.message_id" in refused.text


def quality_update(event: str) -> dict[str, Any]:
    """As the Cloud API sends it: the number is named by its display form only."""
    value = {"display_phone_number": "15550000000", "event": event, "current_limit": "TIER_1K"}
    change = {"field": "phone_number_quality_update", "value": value}
    return {"object": "whatsapp_business_account", "entry": [{"id": "waba", "changes": [change]}]}


def callbacks_of(server: Server, webhook_id: str) -> list[dict[str, Any]]:
    rows = server.query(
        "SELECT trigger, body FROM callback_deliveries WHERE webhook_id = :w", w=webhook_id
    )
    return [{"trigger": r["trigger"], "body": r["body"]} for r in rows]


def test_a_quality_update_is_a_channel_event_for_its_subscribers(
    server: Server, api: httpx.Client, app: WhatsAppApp
) -> None:
    """§2.7: `phone_number_quality_update` → CHANNEL_EVENT `channel_event_notification`,
    shaped as the ChannelEventDto contract, to the webhooks with that trigger only."""
    hook = recording_webhook(api, app.id, ["CHANNEL_EVENT"])
    others = recording_webhook(api, app.id, ["MESSAGE_INBOUND", "UNSUPPORTED"])
    assert post_signed(server, app.id, quality_update("FLAGGED")).status_code == 200
    [callback] = wait_for(lambda: callbacks_of(server, hook), what="CHANNEL_EVENT")
    assert callback["trigger"] == "CHANNEL_EVENT"
    body = json.loads(callback["body"])
    assert list(body) == [
        *("app_id", "accepted_time", "event_time", "project_id"),
        "channel_event_notification",
    ]
    assert body["app_id"] == app.id
    assert body["project_id"] == server.project_id
    assert body["channel_event_notification"] == {
        "channel_event": {
            "channel": "WHATSAPP",
            "event_type": "WHATS_APP_QUALITY_RATING_CHANGED",
            "additional_data": {"quality_rating": "FLAGGED"},
        }
    }
    assert callbacks_of(server, others) == []
    # Both SDKs take it: Python as its base event, Node by its payload key.
    parsed = ConversationSinchEvent("s").parse_event(callback["body"])
    assert (parsed.app_id, parsed.project_id) == (app.id, server.project_id)
    assert parsed.accepted_time is not None
    node = shutil.which("node")
    if node is not None and (NODE_DIR / "node_modules" / "@sinch" / "sdk-core").is_dir():
        assert node_trigger(node, callback["body"]) == "CHANNEL_EVENT"


NODE_DIR = Path(__file__).parents[1] / "node"


def node_trigger(node: str, body: str) -> str:
    """The trigger the Node SDK's `parseEvent` finds in a callback body."""
    script = (
        "import { ConversationCallbackWebhooks } from '@sinch/sdk-core';"
        "let body = ''; for await (const chunk of process.stdin) body += chunk;"
        "console.log(ConversationCallbackWebhooks.parseEvent(JSON.parse(body)).trigger);"
    )
    result = subprocess.run(
        [node, "--input-type=module", "-e", script],
        cwd=NODE_DIR,
        input=body,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()
