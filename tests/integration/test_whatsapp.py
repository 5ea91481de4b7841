"""WhatsApp end to end: messages:send → the connector → the simulated Cloud API → signed
status webhooks → delivery callbacks; handsets writing back (CHANNELS.md part 1 §2)."""

import hashlib
import hmac
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

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
    assert contents[0] == {
        "choice_response_message": {"message_id": choice, "postback_data": "nl_yes"}
    }
    assert contents[1] == {
        "choice_response_message": {"message_id": choice, "postback_data": f"{choice}_No"}
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
