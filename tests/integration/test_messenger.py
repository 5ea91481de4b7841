"""Messenger end to end through the simulator (CHANNELS.md part 2 §1): a handset writes first,
every generic message type reaches it natively or degraded, delivery and read webhooks come
back signed, replies and choice taps become contact messages, failures and the sending window
are reported with their reasons, and bad signatures are refused and recorded."""

import hashlib
import hmac
import json
import random
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import Server
from tests.integration.helpers import assert_error, recording_webhook, wait_for

SECRET = "messenger-app-secret"


class MessengerApp:
    """An app with a MESSENGER credential (its own Page token) and a recording webhook."""

    def __init__(self, server: Server, api: httpx.Client) -> None:
        self.server, self.api = server, api
        self.page = ""
        self.token = f"page-{uuid.uuid4().hex}"
        response = api.post(
            "/apps",
            json={
                "display_name": f"messenger-{uuid.uuid4().hex[:6]}",
                "channel_credentials": [
                    {
                        "channel": "MESSENGER",
                        "static_token": {"token": self.token},
                        "callback_secret": SECRET,
                    }
                ],
            },
        )
        assert response.status_code == 200, response.text
        self.id = response.json()["id"]
        recording_webhook(api, self.id)

    def recipient(self, psid: str) -> dict[str, Any]:
        identity = {"channel": "MESSENGER", "identity": psid, "app_id": self.id}
        return {"identified_by": {"channel_identities": [identity]}}

    def send(self, psid: str, message: dict[str, Any], **options: Any) -> str:
        body = {"app_id": self.id, "recipient": self.recipient(psid), "message": message}
        response = self.api.post("/messages:send", json={**body, **options})
        assert response.status_code == 200, response.text
        return response.json()["message_id"]

    def callbacks(self, trigger: str) -> list[dict[str, Any]]:
        return [c for c in self.server.recorded_callbacks(self.id) if c["trigger"] == trigger]

    def reports(self, message_id: str) -> list[dict[str, Any]]:
        return [
            c["message_delivery_report"]
            for c in self.callbacks("MESSAGE_DELIVERY")
            if c["message_delivery_report"]["message_id"] == message_id
        ]

    def statuses(self, message_id: str) -> list[str]:
        return [r["status"] for r in self.reports(message_id)]

    def wait_for_status(self, message_id: str, status: str) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            return next((r for r in self.reports(message_id) if r["status"] == status), None)

        return wait_for(reached, what=f"{status} for {message_id}")

    def inbound(self) -> list[dict[str, Any]]:
        return [c["message"] for c in self.callbacks("MESSAGE_INBOUND")]

    def handset_writes(self, psid: str, content: dict[str, Any]) -> dict[str, Any]:
        """The handset sends `content`; returns the MESSAGE_INBOUND payload it caused."""
        before = len(self.inbound())
        response = httpx.post(
            f"{self.server.url}/simulator/v1/handsets/messenger/{psid}/messages",
            json={"app_id": self.id, **content},
        )
        assert response.status_code == 200, response.text
        assert response.json()["status_code"] == 200, response.text
        self.page = str(response.json()["native"]["entry"][0]["id"])  # the simulated Page
        return wait_for(
            lambda: self.inbound()[before:] and self.inbound()[before], what="MESSAGE_INBOUND"
        )


def new_psid() -> str:
    return str(random.randrange(10**15, 10**16))


def handset(server: Server, psid: str) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/simulator/v1/handsets/messenger/{psid}")
    assert response.status_code == 200, response.text
    return response.json()


def patch_handset(server: Server, psid: str, **settings: Any) -> None:
    response = httpx.patch(f"{server.url}/simulator/v1/handsets/messenger/{psid}", json=settings)
    assert response.status_code == 200, response.text


def received(server: Server, psid: str) -> list[dict[str, Any]]:
    return [m for m in handset(server, psid)["inbox"] if m["direction"] == "received"]


def entry(page: str, psid: str, *events: dict[str, Any]) -> dict[str, Any]:
    """One Page's `entry` of a webhook: messaging events from `psid` to `page`."""
    return {
        "id": page,
        "time": 1714557600000,
        "messaging": [
            {"sender": {"id": psid}, "recipient": {"id": page}, "timestamp": 1714557600000, **e}
            for e in events
        ],
    }


def text_event(text: str) -> dict[str, Any]:
    return {"message": {"mid": f"m_{uuid.uuid4().hex}", "text": text}}


def post_webhook(
    server: Server, app: MessengerApp, *entries: dict[str, Any], secret: str = SECRET
) -> None:
    """A native webhook to the app's inbound URL, signed as Meta signs it."""
    body = json.dumps({"object": "page", "entry": list(entries)}).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    response = httpx.post(
        f"{server.url}/inbound/messenger/{app.id}",
        content=body,
        headers={"content-type": "application/json", "x-hub-signature-256": f"sha256={digest}"},
    )
    assert response.status_code == 200, response.text


def learned_page(server: Server, app: MessengerApp) -> str:
    rows = server.query(
        "SELECT native_id FROM learned_channel_ids WHERE app_id = :a AND channel = 'MESSENGER'",
        a=app.id,
    )
    assert len(rows) == 1, rows
    return str(rows[0]["native_id"])


def inbound_texts(app: MessengerApp, count: int) -> list[str]:
    """The texts of the app's first `count` inbound messages, once that many arrived."""
    wait_for(lambda: len(app.inbound()) >= count, what=f"{count} inbound messages")
    return [m["contact_message"]["text_message"]["text"] for m in app.inbound()]


def ignored_requests(server: Server, app: MessengerApp) -> list[str]:
    rows = server.query(
        "SELECT detail FROM inbound_requests WHERE app_id = :a AND outcome = 'ignored'",
        a=app.id,
    )
    return [r["detail"] for r in rows]


# Each generic type, with a line a person sees on the handset.
MESSAGES: list[tuple[str, dict[str, Any], str]] = [
    ("text", {"text_message": {"text": "Hello from chorus"}}, "Hello from chorus"),
    (
        "media",
        {"media_message": {"url": "https://cdn.example.com/photo.jpg"}},
        "https://cdn.example.com/photo.jpg",
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
        "[Track order]",
    ),
    (
        "card",
        {
            "card_message": {
                "title": "Spring sale",
                "description": "All shoes 20% off",
                "media_message": {"url": "https://cdn.example.com/shoes.jpg"},
                "choices": [{"text_message": {"text": "Remind me"}, "postback_data": "remind"}],
            }
        },
        "Spring sale",
    ),
    (
        "carousel",
        {
            "carousel_message": {
                "cards": [
                    {"title": "First", "choices": [{"text_message": {"text": "One"}}]},
                    {"title": "Second", "choices": [{"text_message": {"text": "Two"}}]},
                ]
            }
        },
        "Second",
    ),
    (
        "location",
        {
            "location_message": {
                "title": "Head office",
                "coordinates": {"latitude": 59.3293, "longitude": 18.0686},
            }
        },
        "[Show map: https://www.google.com/maps/search/?api=1&query=59.3293,18.0686]",
    ),
    (
        "contact_info",
        {
            "contact_info_message": {
                "name": {"full_name": "Ada Lovelace"},
                "phone_numbers": [{"phone_number": "46701234567", "type": "MOBILE"}],
            }
        },
        "Ada Lovelace",
    ),
    (
        "list",
        {
            "list_message": {
                "title": "Menu",
                "sections": [{"items": [{"choice": {"title": "Pasta"}}]}],
            }
        },
        "1. Pasta",
    ),
]


@pytest.fixture
def app(server: Server, api: httpx.Client) -> MessengerApp:
    return MessengerApp(server, api)


def test_every_message_type_reaches_a_handset_that_wrote_first(
    server: Server, app: MessengerApp
) -> None:
    psid = new_psid()
    first = app.handset_writes(psid, {"text_message": {"text": "Hi there"}})
    assert first["contact_message"] == {"text_message": {"text": "Hi there"}}
    assert first["channel_identity"] == {
        "channel": "MESSENGER",
        "identity": psid,
        "app_id": app.id,
    }
    sent = {kind: app.send(psid, message) for kind, message, _ in MESSAGES}
    for kind, _message, _shown in MESSAGES:
        report = app.wait_for_status(sent[kind], "DELIVERED")
        assert report["channel_identity"]["channel"] == "MESSENGER"
        assert report["contact_id"] == first["contact_id"]
        assert report["conversation_id"] == first["conversation_id"]
        assert app.statuses(sent[kind])[0] == "QUEUED_ON_CHANNEL", kind
    inbox = received(server, psid)
    assert len(inbox) == len(MESSAGES)
    # Dispatch runs concurrently: the inbox holds every message, in whatever order they came.
    texts = [entry["text"].split("\n") for entry in inbox]
    for kind, _message, shown in MESSAGES:
        assert any(shown in lines for lines in texts), (kind, texts)
    for entry in inbox:
        assert entry["request"]["recipient"] == {"id": psid}
        assert entry["request"]["messaging_type"] == "RESPONSE"


def test_read_receipts_report_read(server: Server, app: MessengerApp) -> None:
    psid = new_psid()
    app.handset_writes(psid, {"text_message": {"text": "hi"}})
    message_id = app.send(psid, {"text_message": {"text": "Read me"}})
    app.wait_for_status(message_id, "DELIVERED")
    wait_for(lambda: "READ" in app.statuses(message_id), seconds=10, what="READ")


def test_without_auto_deliver_the_message_stays_queued(server: Server, app: MessengerApp) -> None:
    psid = new_psid()
    app.handset_writes(psid, {"text_message": {"text": "hi"}})
    patch_handset(server, psid, auto_deliver=False)
    message_id = app.send(psid, {"text_message": {"text": "quiet"}})
    app.wait_for_status(message_id, "QUEUED_ON_CHANNEL")
    wait_for(lambda: received(server, psid), what="the handset's inbox")
    assert received(server, psid)[0]["status"] == "sent"


def test_replies_of_every_kind_come_back_on_the_same_contact(
    server: Server, app: MessengerApp
) -> None:
    psid = new_psid()
    first = app.handset_writes(psid, {"text_message": {"text": "hello"}})
    media = app.handset_writes(psid, {"media_message": {"url": "https://x.example.com/a.png"}})
    assert media["contact_message"] == {"media_message": {"url": "https://x.example.com/a.png"}}
    location = app.handset_writes(
        psid,
        {
            "location_message": {
                "title": "Here",
                "coordinates": {"latitude": 59.5, "longitude": 18.25},
            }
        },
    )
    assert location["contact_message"] == {
        "location_message": {
            "coordinates": {"latitude": 59.5, "longitude": 18.25},
            "title": "Here",
            "label": "",
        }
    }
    for payload in (media, location):
        assert payload["contact_id"] == first["contact_id"]
        assert payload["conversation_id"] == first["conversation_id"]


def test_choice_taps_become_choice_responses(server: Server, app: MessengerApp) -> None:
    psid = new_psid()
    app.handset_writes(psid, {"text_message": {"text": "hello"}})
    message_id = app.send(
        psid,
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
    app.wait_for_status(message_id, "DELIVERED")
    [entry] = received(server, psid)
    replies = entry["request"]["message"]["quick_replies"]
    assert replies[0]["payload"] == f"{message_id}:track"
    assert replies[1]["payload"] == f"{message_id}#1"

    tapped = app.handset_writes(
        psid, {"choice_response_message": {"message_id": message_id, "postback_data": "track"}}
    )
    assert tapped["contact_message"] == {
        "choice_response_message": {"message_id": message_id, "postback_data": "track"}
    }
    default = f"{message_id}_Talk to a person"
    tapped = app.handset_writes(
        psid, {"choice_response_message": {"message_id": message_id, "postback_data": default}}
    )
    assert tapped["contact_message"] == {
        "choice_response_message": {"message_id": message_id, "postback_data": default}
    }


@pytest.mark.parametrize(
    ("settings", "reason", "channel_code"),
    [
        ({"reachable": False}, "RECIPIENT_NOT_REACHABLE", "551/1545041"),
        ({"fail_next": "551"}, "RECIPIENT_NOT_REACHABLE", "551"),
        ({"fail_next": "10/2018278"}, "OUTSIDE_ALLOWED_SENDING_WINDOW", "10/2018278"),
        ({"fail_next": 190}, "CHANNEL_BAD_CONFIGURATION", "190"),
    ],
)
def test_native_failures_are_reported_with_their_reason(
    server: Server, app: MessengerApp, settings: dict[str, Any], reason: str, channel_code: str
) -> None:
    psid = new_psid()
    app.handset_writes(psid, {"text_message": {"text": "hi"}})
    patch_handset(server, psid, **settings)
    message_id = app.send(psid, {"text_message": {"text": "will fail"}})
    report = app.wait_for_status(message_id, "FAILED")
    assert report["reason"]["code"] == reason
    assert report["reason"]["channel_code"] == channel_code
    assert received(server, psid) == []
    if "fail_next" in settings:
        assert handset(server, psid)["settings"]["fail_next"] is None
        again = app.send(psid, {"text_message": {"text": "now it works"}})
        app.wait_for_status(again, "DELIVERED")


def test_a_transient_failure_is_retried(server: Server, app: MessengerApp) -> None:
    psid = new_psid()
    app.handset_writes(psid, {"text_message": {"text": "hi"}})
    patch_handset(server, psid, fail_next=1200)
    message_id = app.send(psid, {"text_message": {"text": "retry me"}})
    app.wait_for_status(message_id, "DELIVERED")
    assert "FAILED" not in app.statuses(message_id)


def test_a_person_who_never_wrote_is_outside_the_window(server: Server, app: MessengerApp) -> None:
    message_id = app.send(new_psid(), {"text_message": {"text": "cold outreach"}})
    report = app.wait_for_status(message_id, "FAILED")
    assert report["reason"]["code"] == "OUTSIDE_ALLOWED_SENDING_WINDOW"


def test_a_tagged_message_passes_the_local_window(server: Server, app: MessengerApp) -> None:
    psid = new_psid()
    app.handset_writes(psid, {"text_message": {"text": "hi"}})
    message_id = app.send(
        psid,
        {"text_message": {"text": "your order shipped"}},
        channel_properties={"MESSENGER_MESSAGE_TAG": "POST_PURCHASE_UPDATE"},
    )
    app.wait_for_status(message_id, "DELIVERED")
    [entry] = received(server, psid)
    assert entry["request"]["messaging_type"] == "MESSAGE_TAG"
    assert entry["request"]["tag"] == "POST_PURCHASE_UPDATE"


def test_an_invalid_psid_fails_without_reaching_the_channel(app: MessengerApp) -> None:
    message_id = app.send("not-a-psid", {"text_message": {"text": "x"}})
    report = app.wait_for_status(message_id, "FAILED")
    assert report["reason"]["code"] == "RECIPIENT_INVALID_CHANNEL_IDENTITY"


def test_a_bad_signature_is_refused_and_recorded(server: Server, app: MessengerApp) -> None:
    body = json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": "1",
                    "time": 1,
                    "messaging": [
                        {
                            "sender": {"id": new_psid()},
                            "recipient": {"id": "1"},
                            "timestamp": 1,
                            "message": {"mid": "m_forged", "text": "forged"},
                        }
                    ],
                }
            ],
        }
    ).encode()
    other = "sha256=" + hmac.new(b"other", body, hashlib.sha256).hexdigest()
    for headers in ({}, {"X-Hub-Signature-256": other}):
        response = httpx.post(
            f"{server.url}/inbound/messenger/{app.id}",
            content=body,
            headers={"content-type": "application/json", **headers},
        )
        assert response.status_code == 401, response.text
    rows = server.query(
        "SELECT outcome FROM inbound_requests WHERE app_id = :a AND channel = 'MESSENGER'",
        a=app.id,
    )
    assert [r["outcome"] for r in rows] == ["rejected", "rejected"]
    assert app.inbound() == []


def test_messages_transcode_returns_the_send_api_body(app: MessengerApp) -> None:
    response = app.api.post(
        "/messages:transcode",
        json={
            "app_id": app.id,
            "app_message": {"media_message": {"url": "https://cdn.example.com/a.mp4"}},
            "channels": ["MESSENGER"],
        },
    )
    assert response.status_code == 200, response.text
    native = json.loads(response.json()["transcoded_message"]["MESSENGER"])
    assert native["message"] == {
        "attachment": {
            "type": "video",
            "payload": {"url": "https://cdn.example.com/a.mp4", "is_reusable": False},
        }
    }
    assert native["messaging_type"] == "RESPONSE"


def test_the_fake_send_api_answers_with_graph_errors(server: Server, app: MessengerApp) -> None:
    url = f"{server.url}/simulator/messenger/v21.0/me/messages"
    good = {"recipient": {"id": new_psid()}, "messaging_type": "RESPONSE", "message": {"text": "x"}}
    bad_token = httpx.post(url, json=good, headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 400
    assert bad_token.json()["error"]["code"] == 190
    auth = {"Authorization": f"Bearer {app.token}"}
    malformed = httpx.post(url, json={**good, "message": {}}, headers=auth)
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == 100
    unknown = httpx.post(url, json=good, params={"access_token": app.token})
    assert unknown.status_code == 400
    error = unknown.json()["error"]
    assert (error["code"], error["error_subcode"]) == (100, 2018001)


def test_fail_next_takes_only_messenger_codes(server: Server) -> None:
    response = httpx.patch(
        f"{server.url}/simulator/v1/handsets/messenger/{new_psid()}", json={"fail_next": 999}
    )
    assert_error(response, 400, "INVALID_ARGUMENT", field="fail_next")


def test_get_channel_profile_asks_the_graph_api_for_the_users_name(
    api: httpx.Client, app: MessengerApp
) -> None:
    """Messenger webhooks carry no name: chorus asks the (simulated) Graph API's user
    profile, which knows only people who wrote to the Page."""
    psid = new_psid()

    def profile() -> httpx.Response:
        return api.post(
            "/contacts:getChannelProfile",
            json={
                "app_id": app.id,
                "channel": "MESSENGER",
                "recipient": {
                    "identified_by": {
                        "channel_identities": [{"channel": "MESSENGER", "identity": psid}]
                    }
                },
            },
        )

    unknown = profile()
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["error"]["status"] == "NOT_FOUND"
    app.handset_writes(psid, {"text_message": {"text": "hi"}})
    known = profile()
    assert known.status_code == 200, known.text
    assert known.json() == {"profile_name": "Simulated user"}


def test_events_for_another_page_are_ignored_once_the_page_is_known(
    server: Server, app: MessengerApp
) -> None:
    """§1.7: the first verified webhook's Page is the app's; one `entry` array may hold
    several Pages' events, and only the app's Page's are processed."""
    ours, other, psid = "104857600000001", "104857600000002", new_psid()
    post_webhook(server, app, entry(ours, psid, text_event("first")))
    assert inbound_texts(app, 1) == ["first"]
    post_webhook(
        server,
        app,
        entry(other, psid, text_event("for another Page"), text_event("and another")),
        entry(ours, psid, text_event("ours")),
    )
    assert inbound_texts(app, 2) == ["first", "ours"]
    [ignored] = ignored_requests(server, app)
    assert other in ignored and "2 event(s)" in ignored
    post_webhook(server, app, entry(ours, psid, text_event("ours again")))
    assert inbound_texts(app, 3) == ["first", "ours", "ours again"]
    assert learned_page(server, app) == ours  # kept in the database, for every process


def test_a_new_page_token_learns_the_page_again(
    server: Server, api: httpx.Client, app: MessengerApp
) -> None:
    """A user who moves the app to another Page replaces its token: that Page's webhooks
    are processed from then on. A credential saved with the same token keeps its Page."""
    first, second, third, psid = "200000000000001", "200000000000002", "200000000000003", new_psid()
    post_webhook(server, app, entry(first, psid, text_event("on the first Page")))
    assert inbound_texts(app, 1) == ["on the first Page"]

    def save(token: str, secret: str) -> None:
        credential = {"channel": "MESSENGER", "static_token": {"token": token}}
        response = api.patch(
            f"/apps/{app.id}",
            json={"channel_credentials": [{**credential, "callback_secret": secret}]},
        )
        assert response.status_code == 200, response.text

    save(app.token, "a-new-app-secret")  # the same Page token: the same Page
    post_webhook(
        server,
        app,
        entry(second, psid, text_event("not yet")),
        entry(first, psid, text_event("still the first")),
        secret="a-new-app-secret",
    )
    assert inbound_texts(app, 2) == ["on the first Page", "still the first"]
    save(f"page-{uuid.uuid4().hex}", SECRET)  # another Page's token
    post_webhook(
        server,
        app,
        entry(second, psid, text_event("on the second Page")),
        entry(third, psid, text_event("a third Page")),
        entry(first, psid, text_event("the old Page")),
    )
    assert inbound_texts(app, 3) == ["on the first Page", "still the first", "on the second Page"]
    assert learned_page(server, app) == second
    assert len(ignored_requests(server, app)) == 3  # "not yet", then the third and old Pages


def test_a_short_envelope_reports_the_stored_postback_data(
    server: Server, api: httpx.Client, app: MessengerApp
) -> None:
    """A choice whose envelope would not fit in 1000 characters goes as `{id}#{n}`; tapped,
    the response carries that option's stored postback_data (part 2 "Postback envelope");
    one without postback_data carries `{id}_{text}`, the whole text, not the cut title. The
    envelope names its message: a button tapped after the conversation ended still does."""
    psid = new_psid()
    first = app.handset_writes(psid, {"text_message": {"text": "hello"}})
    long_data = "d" * 990
    long_text = "Talk to a person about my order"
    message_id = app.send(
        psid,
        {
            "card_message": {
                "title": "Your order",
                "choices": [
                    {"text_message": {"text": "Remind me"}, "postback_data": long_data},
                    {"text_message": {"text": long_text}},
                ],
            }
        },
    )
    app.wait_for_status(message_id, "DELIVERED")
    [sent] = received(server, psid)
    buttons = sent["request"]["message"]["attachment"]["payload"]["elements"][0]["buttons"]
    assert [b["payload"] for b in buttons] == [f"{message_id}#0", f"{message_id}#1"]
    later = app.send(psid, {"text_message": {"text": "a later message"}})
    app.wait_for_status(later, "DELIVERED")

    def tap(button: dict[str, Any]) -> dict[str, Any]:
        before = len(app.inbound())
        postback = {"mid": f"m_{uuid.uuid4().hex}", **button}
        post_webhook(server, app, entry(app.page, psid, {"postback": postback}))
        wait_for(lambda: len(app.inbound()) > before, what="the tap's MESSAGE_INBOUND")
        return app.inbound()[before]["contact_message"]

    assert tap({"title": buttons[0]["title"], "payload": buttons[0]["payload"]}) == {
        "choice_response_message": {"message_id": message_id, "postback_data": long_data}
    }
    assert tap({"title": buttons[1]["title"], "payload": buttons[1]["payload"]}) == {
        "choice_response_message": {
            "message_id": message_id,
            "postback_data": f"{message_id}_{long_text}",
        }
    }
    assert api.post(f"/conversations/{first['conversation_id']}:stop").status_code == 200
    assert tap({"title": buttons[0]["title"], "payload": buttons[0]["payload"]}) == {
        "choice_response_message": {"message_id": message_id, "postback_data": long_data}
    }
