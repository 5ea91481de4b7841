"""VIBER (Viber Bot) end to end through the simulator (CHANNELS.md part 2 §3): every generic
message type reaches a simulated handset as the Viber REST Bot API carries it, with
QUEUED_ON_CHANNEL, DELIVERED and READ; replies and button taps come back signed; failures
map to reasons; a badly signed callback is refused and recorded."""

import hashlib
import hmac
import json
import random
import string
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sinch import SinchClient
from sinch.domains.conversation.api.v1.exceptions import ConversationException

from tests.conftest import BACKENDS, Server
from tests.integration.helpers import recording_webhook, wait_for
from tests.integration.reliability_helpers import instance


@pytest.fixture(scope="module")
def media_host() -> Iterator[str]:
    """A local host whose files answer HEAD with a Content-Length (Viber needs sizes)."""

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            if "missing" in self.path:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("content-length", "2048")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def viber_user() -> str:
    """A fresh Viber user id (no "/", so it fits the control API's path)."""
    alphabet = string.ascii_letters + string.digits + "+"
    return "".join(random.choices(alphabet, k=22)) + "=="


def viber_app(api: httpx.Client, secret: str | None = None) -> tuple[str, str]:
    token = f"viber-{uuid.uuid4().hex}"
    credential: dict[str, Any] = {"channel": "VIBER", "static_token": {"token": token}}
    if secret:
        credential["callback_secret"] = secret
    response = api.post(
        "/apps",
        json={"display_name": "Acme Bot", "channel_credentials": [credential]},
    )
    assert response.status_code == 200, response.text
    app_id = response.json()["id"]
    recording_webhook(api, app_id)
    return app_id, token


def send(api: httpx.Client, app_id: str, user: str, message: dict[str, Any], **extra: Any) -> str:
    body = {
        "app_id": app_id,
        "recipient": {
            "identified_by": {
                "channel_identities": [{"channel": "VIBER", "identity": user, "app_id": app_id}]
            }
        },
        "message": message,
        **extra,
    }
    response = api.post("/messages:send", json=body)
    assert response.status_code == 200, response.text
    return response.json()["message_id"]


def handset(server: Server, user: str) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/simulator/v1/handsets/viber/{user}")
    return response.json() if response.status_code == 200 else {"inbox": []}


def received(server: Server, user: str) -> list[dict[str, Any]]:
    return [m for m in handset(server, user)["inbox"] if m["direction"] == "received"]


def statuses(server: Server, app_id: str, message_id: str) -> list[dict[str, Any]]:
    return [
        c["message_delivery_report"]
        for c in server.recorded_callbacks(app_id)
        if c["trigger"] == "MESSAGE_DELIVERY"
        and c["message_delivery_report"]["message_id"] == message_id
    ]


def wait_status(server: Server, app_id: str, message_id: str, status: str) -> dict[str, Any]:
    return wait_for(
        lambda: next(
            (r for r in statuses(server, app_id, message_id) if r["status"] == status), None
        ),
        what=f"{status} for {message_id}",
    )


def patch(server: Server, user: str, **settings: Any) -> None:
    response = httpx.patch(f"{server.url}/simulator/v1/handsets/viber/{user}", json=settings)
    assert response.status_code == 200, response.text


def from_handset(server: Server, user: str, app_id: str, **message: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}/simulator/v1/handsets/viber/{user}/messages",
        json={"app_id": app_id, **message},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status_code"] == 200, answer
    return answer


def inbound(server: Server, app_id: str) -> list[dict[str, Any]]:
    return [
        c["message"] for c in server.recorded_callbacks(app_id) if c["trigger"] == "MESSAGE_INBOUND"
    ]


def messages(media: str) -> list[tuple[str, dict[str, Any], str]]:
    """(name, generic message, what the handset shows — a fragment) for every type."""
    return [
        ("text", {"text_message": {"text": "Hello from Acme"}}, "Hello from Acme"),
        ("image", {"media_message": {"url": f"{media}/a.jpg"}}, f"[picture] {media}/a.jpg"),
        ("video", {"media_message": {"url": f"{media}/clip.mp4"}}, f"[video] {media}/clip.mp4"),
        ("audio", {"media_message": {"url": f"{media}/voice.mp3"}}, "[file] voice.mp3"),
        (
            "document",
            {"media_message": {"url": f"{media}/doc", "filename_override": "terms.pdf"}},
            "[file] terms.pdf",
        ),
        (
            "choice",
            {
                "choice_message": {
                    "text_message": {"text": "How can we help?"},
                    "choices": [
                        {"text_message": {"text": "Track order"}, "postback_data": "track"},
                        {"url_message": {"title": "FAQ", "url": "https://help.example.com"}},
                    ],
                }
            },
            "How can we help?\n[Track order]\n[FAQ]",
        ),
        (
            "card",
            {
                "card_message": {
                    "title": "Spring sale",
                    "description": "20% off",
                    "media_message": {"url": f"{media}/shoes.png"},
                    "choices": [{"text_message": {"text": "Remind me"}}],
                }
            },
            "Spring sale\n20% off\n[Remind me]",
        ),
        (
            "carousel",
            {"carousel_message": {"cards": [{"title": "One"}, {"title": "Two"}]}},
            "One\nTwo",
        ),
        (
            "location",
            {
                "location_message": {
                    "title": "Office",
                    "coordinates": {"latitude": 59.33, "longitude": 18.06},
                }
            },
            "[location] 59.33,18.06",
        ),
        (
            "contact_info",
            {
                "contact_info_message": {
                    "name": {"full_name": "Jane Doe"},
                    "phone_numbers": [{"phone_number": "+46732000000"}],
                }
            },
            "[contact] Jane Doe +46732000000",
        ),
        (
            "list",
            {
                "list_message": {
                    "title": "Menu",
                    "sections": [{"items": [{"choice": {"title": "Tea"}}]}],
                }
            },
            "Menu\n1. Tea\n[Tea]",
        ),
    ]


def test_every_message_type_is_delivered_and_read(
    server: Server, api: httpx.Client, media_host: str
) -> None:
    app_id, _ = viber_app(api)
    for name, message, shown in messages(media_host):
        user = viber_user()
        message_id = send(api, app_id, user, message)
        wait_status(server, app_id, message_id, "READ")
        history = [r["status"] for r in statuses(server, app_id, message_id)]
        assert history[:3] == ["QUEUED_ON_CHANNEL", "DELIVERED", "READ"], (name, history)
        inbox = received(server, user)
        assert any(shown in entry["text"] for entry in inbox), (name, [e["text"] for e in inbox])
        report = statuses(server, app_id, message_id)[0]
        assert report["channel_identity"] == {
            "channel": "VIBER",
            "identity": user,
            "app_id": app_id,
        }


def test_sender_name_and_channel_properties_reach_the_handset(
    server: Server, api: httpx.Client
) -> None:
    app_id, _ = viber_app(api)
    user = viber_user()
    message_id = send(
        api,
        app_id,
        user,
        {"text_message": {"text": "hi"}},
        channel_properties={
            "VIBER_SENDER_NAME": "Acme Support",
            "VIBER_SENDER_AVATAR": "https://cdn.example.com/a.png",
        },
    )
    wait_status(server, app_id, message_id, "DELIVERED")
    request = received(server, user)[0]["request"]
    assert request["sender"] == {"name": "Acme Support", "avatar": "https://cdn.example.com/a.png"}
    assert request["receiver"] == user


def test_a_reply_and_button_taps_come_back_on_the_same_conversation(
    server: Server, api: httpx.Client
) -> None:
    app_id, _ = viber_app(api)
    user = viber_user()
    message_id = send(
        api,
        app_id,
        user,
        {
            "choice_message": {
                "text_message": {"text": "Pick"},
                "choices": [
                    {"text_message": {"text": "Track order"}, "postback_data": "track"},
                    {"text_message": {"text": "Talk to a person"}},
                ],
            }
        },
    )
    queued = wait_status(server, app_id, message_id, "DELIVERED")
    buttons = received(server, user)[0]["request"]["keyboard"]["Buttons"]

    from_handset(server, user, app_id, text_message={"text": "hello"})
    from_handset(server, user, app_id, text_message={"text": buttons[0]["ActionBody"]})
    from_handset(server, user, app_id, text_message={"text": buttons[1]["ActionBody"]})
    from_handset(
        server,
        user,
        app_id,
        location_message={"title": "", "coordinates": {"latitude": 1.5, "longitude": 2.5}},
    )
    replies = wait_for(
        lambda: (m := inbound(server, app_id)) and len(m) == 4 and m, what="4 replies"
    )
    assert replies[0]["contact_message"] == {"text_message": {"text": "hello"}}
    assert replies[1]["contact_message"] == {
        "choice_response_message": {"message_id": message_id, "postback_data": "track"}
    }
    assert replies[2]["contact_message"] == {
        "choice_response_message": {
            "message_id": message_id,
            "postback_data": f"{message_id}_Talk to a person",
        }
    }
    assert replies[3]["contact_message"]["location_message"]["coordinates"] == {
        "latitude": 1.5,
        "longitude": 2.5,
    }
    for reply in replies:
        assert reply["channel_identity"] == {"channel": "VIBER", "identity": user, "app_id": app_id}
        assert reply["conversation_id"] == queued["conversation_id"]
        assert reply["contact_id"] == queued["contact_id"]


def test_a_button_tapped_on_an_older_message_answers_that_message(
    server: Server, api: httpx.Client
) -> None:
    """The short envelope `{message_id}#{index}` names its message: a later message (here
    one without buttons) does not take the tap (it arrived as text holding the envelope)."""
    app_id, _ = viber_app(api)
    user = viber_user()
    choice = {
        "choice_message": {
            "text_message": {"text": "Pick"},
            "choices": [{"text_message": {"text": "Yes"}}, {"text_message": {"text": "No"}}],
        }
    }
    asked = send(api, app_id, user, choice)
    wait_status(server, app_id, asked, "DELIVERED")
    later = send(api, app_id, user, {"text_message": {"text": "Anything else?"}})
    wait_status(server, app_id, later, "DELIVERED")
    buttons = received(server, user)[0]["request"]["keyboard"]["Buttons"]
    from_handset(server, user, app_id, text_message={"text": buttons[1]["ActionBody"]})
    (reply,) = wait_for(lambda: inbound(server, app_id), what="the tap")
    assert reply["contact_message"] == {
        "choice_response_message": {"message_id": asked, "postback_data": f"{asked}_No"}
    }


@pytest.mark.parametrize(
    ("settings", "reason", "channel_code"),
    [
        ({"reachable": False}, "RECIPIENT_NOT_REACHABLE", "failed"),
        ({"fail_next": "failed"}, "RECIPIENT_NOT_REACHABLE", "failed"),
        ({"fail_next": 5}, "RECIPIENT_NOT_REACHABLE", "5"),
        ({"fail_next": 21}, "DELIVERY_REJECTED_DUE_TO_POLICY", "21"),
        ({"subscribed": False}, "RECIPIENT_NOT_OPTED_IN", "6"),
    ],
    ids=["unreachable", "failed-callback", "not-registered", "country", "unsubscribed"],
)
def test_failures_map_to_reasons(
    server: Server,
    api: httpx.Client,
    settings: dict[str, Any],
    reason: str,
    channel_code: str,
) -> None:
    app_id, _ = viber_app(api)
    user = viber_user()
    if "subscribed" in settings:
        # The unsubscribe is reported to another bot, so this app's chorus has no opt-out and
        # asks Viber, which answers status 6.
        other_id, _ = viber_app(api)
        settings = {**settings, "app_id": other_id}
    patch(server, user, **settings)
    message_id = send(api, app_id, user, {"text_message": {"text": "hi"}})
    failed = wait_status(server, app_id, message_id, "FAILED")
    assert failed["reason"]["code"] == reason
    assert failed["reason"]["channel_code"] == channel_code


def test_fail_next_clears_and_a_rate_limit_is_retried(server: Server, api: httpx.Client) -> None:
    app_id, _ = viber_app(api)
    user = viber_user()
    patch(server, user, fail_next=12)
    message_id = send(api, app_id, user, {"text_message": {"text": "hi"}})
    wait_status(server, app_id, message_id, "DELIVERED")
    assert handset(server, user)["settings"]["fail_next"] is None


def test_unreachable_media_fails_the_message(
    server: Server, api: httpx.Client, media_host: str
) -> None:
    app_id, _ = viber_app(api)
    user = viber_user()
    message_id = send(api, app_id, user, {"media_message": {"url": f"{media_host}/missing.mp4"}})
    failed = wait_status(server, app_id, message_id, "FAILED")
    assert failed["reason"]["code"] == "MEDIA_NOT_REACHABLE"
    assert received(server, user) == []


def test_an_invalid_identity_fails_without_reaching_viber(
    server: Server, api: httpx.Client
) -> None:
    app_id, _ = viber_app(api)
    message_id = send(api, app_id, "bad id!", {"text_message": {"text": "hi"}})
    failed = wait_status(server, app_id, message_id, "FAILED")
    assert failed["reason"]["code"] == "RECIPIENT_INVALID_CHANNEL_IDENTITY"


def test_callbacks_are_signed_with_the_callback_secret_when_set(
    server: Server, api: httpx.Client
) -> None:
    app_id, _ = viber_app(api, secret="viber-callback-secret")
    user = viber_user()
    message_id = send(api, app_id, user, {"text_message": {"text": "hi"}})
    wait_status(server, app_id, message_id, "READ")
    from_handset(server, user, app_id, text_message={"text": "signed"})


def test_a_badly_signed_callback_is_refused_and_recorded(server: Server, api: httpx.Client) -> None:
    app_id, token = viber_app(api)
    body = json.dumps(
        {
            "event": "message",
            "timestamp": 1714557600000,
            "message_token": 77,
            "sender": {"id": viber_user()},
            "message": {"type": "text", "text": "forged"},
        }
    ).encode()
    wrong = hmac.new(b"not-the-token", body, hashlib.sha256).hexdigest()
    for headers in ({"x-viber-content-signature": wrong}, {}):
        response = httpx.post(
            f"{server.url}/inbound/viber/{app_id}",
            content=body,
            headers={"content-type": "application/json", **headers},
        )
        assert response.status_code == 401, response.text
    rows = server.query(
        "SELECT outcome FROM inbound_requests WHERE app_id = :a AND channel = 'VIBER'", a=app_id
    )
    assert [r["outcome"] for r in rows] == ["rejected", "rejected"]
    assert inbound(server, app_id) == []
    good = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    response = httpx.post(
        f"{server.url}/inbound/viber/{app_id}",
        content=body,
        headers={"content-type": "application/json", "x-viber-content-signature": good},
    )
    assert response.status_code == 200, response.text


def test_a_user_who_opens_the_chat_becomes_a_contact(server: Server, api: httpx.Client) -> None:
    """§3.7 conversation_started: an UNSUPPORTED callback with the raw event, and the identity
    is learned (a contact holds it, named in the callback)."""
    app_id, token = viber_app(api)
    user = viber_user()
    body = json.dumps(
        {
            "event": "conversation_started",
            "timestamp": 1714557600000,
            "message_token": 78,
            "type": "open",
            "user": {"id": user, "name": "Ann"},
            "subscribed": False,
        }
    ).encode()
    signature = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    response = httpx.post(
        f"{server.url}/inbound/viber/{app_id}",
        content=body,
        headers={"content-type": "application/json", "x-viber-content-signature": signature},
    )
    assert response.status_code == 200, response.text
    (callback,) = [c for c in server.recorded_callbacks(app_id) if c["trigger"] == "UNSUPPORTED"]
    holders = api.get("/contacts", params={"channel": "VIBER", "identity": user}).json()
    (contact,) = holders["contacts"]
    assert callback["unsupported_callback"]["contact_id"] == contact["id"]


def post_callback(server: Server, app_id: str, token: str, payload: dict[str, Any]) -> int:
    """`payload` posted as Viber does, signed with the bot's auth token; the answer's status."""
    body = json.dumps({"timestamp": 1714557600000, **payload}).encode()
    signature = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    response = httpx.post(
        f"{server.url}/inbound/viber/{app_id}",
        content=body,
        headers={"content-type": "application/json", "x-viber-content-signature": signature},
    )
    return response.status_code


def test_a_callback_viber_repeats_changes_nothing_the_second_time(
    server: Server, api: httpx.Client
) -> None:
    """§3.7: chorus de-duplicates on (event, message_token, user id); a repeat is recorded."""
    app_id, token = viber_app(api)
    opt_ins = {"app_id": app_id, "target": "http://127.0.0.1:9/unused", "target_type": "DISMISS"}
    assert api.post("/webhooks", json=opt_ins | {"triggers": ["OPT_IN"]}).status_code == 200
    user = viber_user()
    message_id = send(api, app_id, user, {"text_message": {"text": "hi"}})
    wait_status(server, app_id, message_id, "READ")
    (ref,) = server.query(
        "SELECT native_id FROM channel_message_refs WHERE message_id = :m", m=message_id
    )
    sent = int(ref["native_id"])
    subscribed = {"event": "subscribed", "user": {"id": user, "name": "Ann"}, "message_token": 81}
    started = {"event": "conversation_started", "user": {"id": user}, "message_token": 82}
    callbacks = [
        {"event": "delivered", "message_token": sent, "user_id": user},  # the simulator's, again
        {"event": "seen", "message_token": sent, "user_id": user},
        subscribed,
        subscribed,
        started,
        started,
        subscribed | {"message_token": 83},  # another subscription: news
    ]
    assert [post_callback(server, app_id, token, c) for c in callbacks] == [200] * len(callbacks)
    assert [r["status"] for r in statuses(server, app_id, message_id)] == [
        "QUEUED_ON_CHANNEL",
        "DELIVERED",
        "READ",
    ]
    triggers = [c["trigger"] for c in server.recorded_callbacks(app_id)]
    assert (triggers.count("OPT_IN"), triggers.count("UNSUPPORTED")) == (2, 1)
    rows = server.query(
        "SELECT outcome FROM inbound_requests WHERE app_id = :a ORDER BY received_at", a=app_id
    )
    assert [r["outcome"] for r in rows] == [
        "duplicate",
        "duplicate",
        "duplicate",
        "unmapped",
        "duplicate",
    ]


def test_set_webhook_is_answered_and_validated_by_a_signed_webhook_event(
    server: Server, api: httpx.Client
) -> None:
    app_id, token = viber_app(api)
    url = f"{server.url}/inbound/viber/{app_id}"
    response = httpx.post(
        f"{server.url}/simulator/viber/pa/set_webhook",
        json={"url": url, "event_types": ["delivered", "seen"]},
        headers={"X-Viber-Auth-Token": token},
    )
    assert response.json()["status"] == 0
    bad = httpx.post(
        f"{server.url}/simulator/viber/pa/send_message",
        json={"receiver": viber_user(), "sender": {"name": "x"}, "type": "text", "text": "x"},
        headers={"X-Viber-Auth-Token": "nope"},
    )
    assert bad.status_code == 200 and bad.json()["status"] == 2
    malformed = httpx.post(
        f"{server.url}/simulator/viber/pa/send_message",
        json={"receiver": viber_user(), "type": "text", "text": "x"},
        headers={"X-Viber-Auth-Token": token},
    )
    assert malformed.json()["status"] == 4


def test_messages_transcode_returns_the_viber_payload(server: Server, api: httpx.Client) -> None:
    app_id, _ = viber_app(api)
    response = api.post(
        "/messages:transcode",
        json={
            "app_id": app_id,
            "app_message": {"text_message": {"text": "Hello"}},
            "channels": ["VIBER"],
        },
    )
    assert response.status_code == 200, response.text
    native = json.loads(response.json()["transcoded_message"]["VIBER"])
    assert native["type"] == "text" and native["text"] == "Hello"
    assert native["min_api_version"] == 1


# --- webhook registration (§3.2) ---------------------------------------------------------


def credential_state(api: httpx.Client, app_id: str) -> dict[str, str]:
    app = api.get(f"/apps/{app_id}").json()
    return next(c for c in app["channel_credentials"] if c["channel"] == "VIBER")["state"]


def test_a_new_viber_credential_registers_its_webhook_with_the_simulator(
    api: httpx.Client,
) -> None:
    response = api.post(
        "/apps",
        json={
            "display_name": "Registered Bot",
            "channel_credentials": [
                {"channel": "VIBER", "static_token": {"token": f"viber-{uuid.uuid4().hex}"}}
            ],
        },
    )
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["channel_credentials"][0]["state"]["status"] == "PENDING"
    state = wait_for(
        lambda: (s := credential_state(api, created["id"]))["status"] != "PENDING" and s,
        what="the webhook registration",
    )
    assert state == {"status": "ACTIVE", "description": ""}


class ViberApi:
    """A stand-in for the Viber REST Bot API's `set_webhook`: records each call, and
    refuses tokens that contain "bad" as Viber refuses a URL it cannot reach."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                token = self.headers.get("x-viber-auth-token", "")
                api.calls.append((token, body))
                answer = (
                    {"status": 1, "status_message": "invalidUrl"}
                    if "bad" in token
                    else {"status": 0, "status_message": "ok", "event_types": body["event_types"]}
                )
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_webhook_registration_follows_the_token_and_shows_the_channels_refusal(
    backend: str,
) -> None:
    viber = ViberApi()
    try:
        with (
            instance(backend, {"CHORUS_VIBER_BASE_URL": viber.url}) as chorus,
            chorus.api() as api,
        ):

            def settled(app_id: str) -> dict[str, str]:
                return wait_for(
                    lambda: (s := credential_state(api, app_id))["status"] != "PENDING" and s,
                    what="the webhook registration",
                )

            def with_token(token: str) -> list[dict[str, Any]]:
                return [{"channel": "VIBER", "static_token": {"token": token}}]

            created = api.post(
                "/apps",
                json={"display_name": "Bot", "channel_credentials": with_token("good-1")},
            )
            assert created.status_code == 200, created.text
            app_id = created.json()["id"]
            assert settled(app_id) == {"status": "ACTIVE", "description": ""}
            assert viber.calls == [
                (
                    "good-1",
                    {
                        "url": f"{chorus.url}/inbound/viber/{app_id}",
                        "event_types": [
                            "delivered",
                            "seen",
                            "failed",
                            "subscribed",
                            "unsubscribed",
                            "conversation_started",
                        ],
                        "send_name": True,
                        "send_photo": True,
                    },
                )
            ]

            # The token changes: registered again, and the channel's refusal is shown.
            patched = api.patch(
                f"/apps/{app_id}", json={"channel_credentials": with_token("bad-2")}
            )
            assert patched.status_code == 200, patched.text
            assert patched.json()["channel_credentials"][0]["state"]["status"] == "PENDING"
            failing = settled(app_id)
            assert failing["status"] == "FAILING"
            assert "invalidUrl" in failing["description"]
            assert [token for token, _ in viber.calls] == ["good-1", "bad-2"]

            # A refused registration is retried by saving the credential again.
            again = api.patch(f"/apps/{app_id}", json={"channel_credentials": with_token("bad-2")})
            assert again.status_code == 200, again.text
            assert again.json()["channel_credentials"][0]["state"]["status"] == "PENDING"
            assert settled(app_id)["status"] == "FAILING"
            assert [token for token, _ in viber.calls] == ["good-1", "bad-2", "bad-2"]

            # A registered credential saved unchanged, or an app change that leaves the
            # credentials alone, registers nothing and keeps the state.
            fixed = api.patch(f"/apps/{app_id}", json={"channel_credentials": with_token("good-3")})
            assert fixed.status_code == 200, fixed.text
            assert settled(app_id) == {"status": "ACTIVE", "description": ""}
            for change in (
                {"display_name": "Bot 2", "channel_credentials": with_token("good-3")},
                {"display_name": "Bot 3"},
            ):
                saved = api.patch(f"/apps/{app_id}", json=change)
                assert saved.json()["channel_credentials"][0]["state"]["status"] == "ACTIVE"
            # A registration would have queued a job; the outbox holds none.
            assert chorus.query(
                "SELECT count(*) AS n FROM outbox_jobs WHERE kind = 'apps.register_webhook'"
            ) == [{"n": 0}]
            assert [token for token, _ in viber.calls] == ["good-1", "bad-2", "bad-2", "good-3"]
    finally:
        viber.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_server_started_on_another_public_url_registers_the_webhooks_again(
    backend: str,
) -> None:
    viber = ViberApi()
    try:
        with instance(backend, {"CHORUS_VIBER_BASE_URL": viber.url}) as chorus:

            def states() -> dict[str, str]:
                with chorus.api() as api:
                    return {app_id: credential_state(api, app_id)["status"] for app_id in apps}

            def settled() -> dict[str, str]:
                return wait_for(
                    lambda: "PENDING" not in (s := states()).values() and s,
                    what="the webhook registrations",
                )

            def queued_registrations() -> int:
                rows = chorus.query(
                    "SELECT count(*) AS n FROM outbox_jobs WHERE kind = 'apps.register_webhook'"
                )
                return rows[0]["n"]

            with chorus.api() as api:
                apps = [
                    api.post(
                        "/apps",
                        json={
                            "display_name": name,
                            "channel_credentials": [
                                {"channel": "VIBER", "static_token": {"token": token}}
                            ],
                        },
                    ).json()["id"]
                    for name, token in (("Good", "good-1"), ("Refused", "bad-1"))
                ]
            good, refused = apps
            assert settled() == {good: "ACTIVE", refused: "FAILING"}
            assert len(viber.calls) == 2

            # Started again at the same URL: nothing to register, states kept.
            chorus.stop()
            chorus.start()
            assert queued_registrations() == 0
            assert states() == {good: "ACTIVE", refused: "FAILING"}

            # Started at another public URL: each channel is given the new one (the refused
            # credential gets its retry), and a later start at that URL registers nothing.
            moved = f"http://localhost:{chorus.port}"
            chorus.env["CHORUS_PUBLIC_BASE_URL"] = moved
            chorus.stop()
            chorus.start()
            assert settled() == {good: "ACTIVE", refused: "FAILING"}
            again = {token: body["url"] for token, body in viber.calls[2:]}
            assert again == {
                "good-1": f"{moved}/inbound/viber/{good}",
                "bad-1": f"{moved}/inbound/viber/{refused}",
            }
            chorus.stop()
            chorus.start()
            assert queued_registrations() == 0
            assert len(viber.calls) == 4
            with chorus.api() as api:
                shown = api.get(f"/apps/{good}").json()["channel_credentials"][0]
            assert "webhook_url" not in shown  # kept for chorus, not part of the API
    finally:
        viber.close()


# --- profile names (API.md §4.5) -------------------------------------------------------------


def test_a_users_viber_name_names_the_new_contact_and_answers_get_channel_profile(
    server: Server, api: httpx.Client, sinch: SinchClient
) -> None:
    """Viber sends the user's name with each message (`sender.name`): a contact created by
    the message takes it, and `contacts:getChannelProfile` answers it (asked here with the
    official Python SDK, by contact id and by identity)."""
    app_id, _ = viber_app(api)
    user = viber_user()
    with pytest.raises(ConversationException) as unknown:
        sinch.conversation.contacts.get_channel_profile_by_channel_identity(
            app_id=app_id,
            channel="VIBER",
            recipient_identities=[{"channel": "VIBER", "identity": user}],
        )
    assert "NOT_FOUND" in str(unknown.value)

    from_handset(server, user, app_id, text_message={"text": "hello"})
    message = wait_for(lambda: next(iter(inbound(server, app_id)), None), what="the inbound")
    contact = api.get(f"/contacts/{message['contact_id']}").json()
    assert contact["display_name"] == "Simulated user"
    by_contact = sinch.conversation.contacts.get_channel_profile_by_contact_id(
        app_id=app_id, channel="VIBER", contact_id=contact["id"]
    )
    by_identity = sinch.conversation.contacts.get_channel_profile_by_channel_identity(
        app_id=app_id,
        channel="VIBER",
        recipient_identities=[{"channel": "VIBER", "identity": user}],
    )
    assert by_contact.profile_name == by_identity.profile_name == "Simulated user"
