"""RCS end to end through the simulator (CHANNELS.md part 1 §3): every generic message type
sent with messages:send reaches a simulated handset as an RBM AgentMessage, delivery and read
events come back as MESSAGE_DELIVERY callbacks, handset replies and suggestion taps come back
as MESSAGE_INBOUND, failures map to reasons, and forged webhooks are refused and recorded."""

import base64
import hashlib
import hmac
import json
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy

from tests.conftest import BACKENDS, Server
from tests.integration.helpers import assert_error, recording_webhook, wait_for
from tests.integration.reliability_helpers import Instance, instance

SECRET = "rcs-client-token"
TOKEN = "rbm-access-token"


def msisdn() -> str:
    return f"4670{random.randrange(10**7):07d}"


class RcsApp:
    def __init__(self, server: Server | Instance, api: httpx.Client) -> None:
        self.server, self.api = server, api
        self.agent = f"agent_{uuid.uuid4().hex[:10]}"
        body = {
            "display_name": f"rcs-{uuid.uuid4().hex[:6]}",
            "channel_credentials": [
                {
                    "channel": "RCS",
                    "static_bearer": {"claimed_identity": self.agent, "token": TOKEN},
                    "callback_secret": SECRET,
                }
            ],
        }
        response = api.post("/apps", json=body)
        assert response.status_code == 200, response.text
        self.id = response.json()["id"]
        recording_webhook(api, self.id)

    def send(self, number: str, message: dict[str, Any]) -> str:
        body = {
            "app_id": self.id,
            "recipient": {
                "identified_by": {"channel_identities": [{"channel": "RCS", "identity": number}]}
            },
            "message": message,
        }
        response = self.api.post("/messages:send", json=body)
        assert response.status_code == 200, response.text
        return response.json()["message_id"]

    def callbacks(self, trigger: str) -> list[dict[str, Any]]:
        return [c for c in self.server.recorded_callbacks(self.id) if c["trigger"] == trigger]

    def statuses(self, message_id: str) -> list[str]:
        return [
            c["message_delivery_report"]["status"]
            for c in self.callbacks("MESSAGE_DELIVERY")
            if c["message_delivery_report"]["message_id"] == message_id
        ]

    def wait_for_status(self, message_id: str, status: str) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next(
                (
                    c["message_delivery_report"]
                    for c in self.callbacks("MESSAGE_DELIVERY")
                    if c["message_delivery_report"]["message_id"] == message_id
                    and c["message_delivery_report"]["status"] == status
                ),
                None,
            )

        return wait_for(found, what=f"{status} of {message_id}: {self.statuses(message_id)}")

    def wait_for_inbound(self, count: int = 1) -> list[dict[str, Any]]:
        return wait_for(
            lambda: (lambda found: found if len(found) >= count else None)(
                [c["message"] for c in self.callbacks("MESSAGE_INBOUND")]
            ),
            what="inbound messages",
        )


@pytest.fixture
def control(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/simulator/v1", timeout=30) as client:
        yield client


def inbox_entry(control: httpx.Client, number: str, native_id: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        response = control.get(f"/handsets/rcs/{number}")
        if response.status_code != 200:
            return None
        return next((m for m in response.json()["inbox"] if m["native_id"] == native_id), None)

    return wait_for(found, what=f"{native_id} on handset {number}")


MESSAGES: list[tuple[str, dict[str, Any], str]] = [
    ("text", {"text_message": {"text": "Hello from RCS"}}, "Hello from RCS"),
    (
        "media",
        {"media_message": {"url": "https://cdn.example.com/shoe.png"}},
        "https://cdn.example.com/shoe.png",
    ),
    (
        "choice",
        {
            "choice_message": {
                "text_message": {"text": "How can we help?"},
                "choices": [
                    {"text_message": {"text": "Track order"}, "postback_data": "track"},
                    {"url_message": {"title": "Shop", "url": "https://shop.example.com"}},
                ],
            }
        },
        "How can we help?\n[Track order]\n[Shop]",
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
        "Spring sale\nAll shoes 20% off\nhttps://cdn.example.com/shoes.jpg\n[Remind me]",
    ),
    (
        "carousel",
        {
            "carousel_message": {
                "cards": [
                    {"title": "Red", "media_message": {"url": "https://cdn.example.com/r.png"}},
                    {"title": "Blue", "media_message": {"url": "https://cdn.example.com/b.png"}},
                ],
                "choices": [{"text_message": {"text": "More"}}],
            }
        },
        "Red\nhttps://cdn.example.com/r.png\n\nBlue\nhttps://cdn.example.com/b.png\n[More]",
    ),
    (
        "location",
        {
            "location_message": {
                "title": "Our store",
                "label": "Main street 1",
                "coordinates": {"latitude": 59.3293, "longitude": 18.0686},
            }
        },
        "Our store\nMain street 1\n[View location]",
    ),
    (
        "contact_info",
        {
            "contact_info_message": {
                "name": {"full_name": "Ada Lovelace"},
                "phone_numbers": [{"phone_number": "+46732000000"}],
            }
        },
        "Ada Lovelace\nTel: +46732000000",
    ),
    (
        "list",
        {
            "list_message": {
                "title": "Menu",
                "sections": [{"items": [{"choice": {"title": "Soup", "postback_data": "s"}}]}],
            }
        },
        "Menu\n1. Soup\n[Soup]",
    ),
]


def test_every_message_type_is_delivered_and_read(
    server: Server, api: httpx.Client, control: httpx.Client
) -> None:
    app = RcsApp(server, api)
    number = msisdn()
    sent = {kind: app.send(number, message) for kind, message, _ in MESSAGES}
    for kind, _message, text in MESSAGES:
        entry = inbox_entry(control, number, sent[kind])
        assert entry["text"] == text, kind
        assert entry["request"]["agentId"] == app.agent
        assert "contentMessage" in entry["request"]
    for kind in sent:
        app.wait_for_status(sent[kind], "READ")
        assert app.statuses(sent[kind]) == ["QUEUED_ON_CHANNEL", "DELIVERED", "READ"], kind


def test_replies_come_back_on_the_same_conversation(
    server: Server, api: httpx.Client, control: httpx.Client
) -> None:
    app = RcsApp(server, api)
    number = msisdn()
    message_id = app.send(
        number,
        {
            "choice_message": {
                "text_message": {"text": "Newsletter?"},
                "choices": [
                    {"text_message": {"text": "Yes"}, "postback_data": "newsletter_yes"},
                    {"text_message": {"text": "No"}},
                ],
            }
        },
    )
    app.wait_for_status(message_id, "DELIVERED")
    replies = [
        {"text_message": {"text": "hello back"}},
        {"media_message": {"url": "https://files.example.com/cat.jpg"}},
        {"location_message": {"title": "here", "coordinates": {"latitude": 1.5, "longitude": 2}}},
        {"choice_response_message": {"message_id": message_id, "postback_data": "newsletter_yes"}},
        {
            "choice_response_message": {
                "message_id": message_id,
                "postback_data": f"{message_id}_No",
            }
        },
    ]
    for reply in replies:
        response = control.post(
            f"/handsets/rcs/{number}/messages", json={"app_id": app.id, **reply}
        )
        assert response.status_code == 200, response.text
        assert response.json()["status_code"] == 200, response.json()
    inbound = app.wait_for_inbound(len(replies))
    outbound = app.callbacks("MESSAGE_DELIVERY")[0]["message_delivery_report"]
    for message in inbound:
        assert message["channel_identity"] == {"channel": "RCS", "identity": number, "app_id": ""}
        assert message["contact_id"] == outbound["contact_id"]
        assert message["conversation_id"] == outbound["conversation_id"]
    contents = [m["contact_message"] for m in inbound]
    assert contents[0] == {"text_message": {"text": "hello back"}}
    assert contents[1]["media_message"]["url"] == "https://files.example.com/cat.jpg"
    assert contents[2] == {"location_message": {"coordinates": {"latitude": 1.5, "longitude": 2}}}
    assert contents[3] == {
        "choice_response_message": {"message_id": message_id, "postback_data": "newsletter_yes"}
    }
    assert contents[4] == {
        "choice_response_message": {"message_id": message_id, "postback_data": f"{message_id}_No"}
    }


def test_an_unreachable_handset_fails_with_recipient_not_reachable(
    server: Server, api: httpx.Client, control: httpx.Client
) -> None:
    app = RcsApp(server, api)
    number = msisdn()
    assert control.patch(f"/handsets/rcs/{number}", json={"reachable": False}).status_code == 200
    message_id = app.send(number, {"text_message": {"text": "anyone?"}})
    report = app.wait_for_status(message_id, "FAILED")
    assert report["reason"]["code"] == "RECIPIENT_NOT_REACHABLE"
    assert report["reason"]["channel_code"] == "NOT_FOUND"


def test_fail_next_fails_the_next_send_with_the_mapped_reason(
    server: Server, api: httpx.Client, control: httpx.Client
) -> None:
    app = RcsApp(server, api)
    number = msisdn()
    patched = control.patch(f"/handsets/rcs/{number}", json={"fail_next": "PERMISSION_DENIED"})
    assert patched.status_code == 200 and patched.json()["settings"]["fail_next"] == (
        "PERMISSION_DENIED"
    )
    failed = app.send(number, {"text_message": {"text": "one"}})
    report = app.wait_for_status(failed, "FAILED")
    assert report["reason"]["code"] == "CHANNEL_BAD_CONFIGURATION"
    assert report["reason"]["channel_code"] == "PERMISSION_DENIED"
    # fail_next clears: the next message is delivered.
    app.wait_for_status(app.send(number, {"text_message": {"text": "two"}}), "DELIVERED")
    refused = control.patch(f"/handsets/rcs/{number}", json={"fail_next": "NOT_A_STATUS"})
    assert_error(refused, 400, field="fail_next")


def test_a_media_file_that_cannot_be_fetched_fails(server: Server, api: httpx.Client) -> None:
    app = RcsApp(server, api)
    message_id = app.send(msisdn(), {"media_message": {"url": "https://cdn.nowhere.invalid/a.png"}})
    assert app.wait_for_status(message_id, "FAILED")["reason"]["code"] == "MEDIA_NOT_REACHABLE"


def test_an_over_long_text_fails_with_bad_request(server: Server, api: httpx.Client) -> None:
    app = RcsApp(server, api)
    message_id = app.send(msisdn(), {"text_message": {"text": "x" * 3073}})
    assert app.wait_for_status(message_id, "FAILED")["reason"]["code"] == "BAD_REQUEST"


def test_a_composing_event_reaches_the_handset(
    server: Server, api: httpx.Client, control: httpx.Client
) -> None:
    app = RcsApp(server, api)
    number = msisdn()
    body = {
        "app_id": app.id,
        "recipient": {
            "identified_by": {"channel_identities": [{"channel": "RCS", "identity": number}]}
        },
        "event": {"composing_event": {}},
    }
    response = api.post("/events:send", json=body)
    assert response.status_code == 200, response.text
    entry = inbox_entry(control, number, response.json()["event_id"])
    assert entry["request"]["eventType"] == "IS_TYPING"


def test_a_forged_webhook_is_refused_and_recorded(server: Server, api: httpx.Client) -> None:
    app = RcsApp(server, api)
    event = {"senderPhoneNumber": f"+{msisdn()}", "messageId": "Mx1", "agentId": app.agent}
    data = base64.b64encode(json.dumps(event | {"text": "forged"}).encode()).decode()
    body = {"message": {"data": data, "messageId": "1"}, "subscription": "s"}
    for headers in ({}, {"X-Goog-Signature": base64.b64encode(b"wrong").decode()}):
        response = httpx.post(f"{server.url}/inbound/rcs/{app.id}", json=body, headers=headers)
        assert response.status_code == 401, response.text
    rows = server.query(
        "SELECT outcome FROM inbound_requests WHERE app_id = :a AND channel = 'RCS'", a=app.id
    )
    assert [r["outcome"] for r in rows] == ["rejected", "rejected"]
    assert app.callbacks("MESSAGE_INBOUND") == []


def test_messages_transcode_returns_the_agent_message(server: Server, api: httpx.Client) -> None:
    app = RcsApp(server, api)
    response = api.post(
        "/messages:transcode",
        json={
            "app_id": app.id,
            "app_message": {"media_message": {"url": "https://cdn.example.com/a.mp4"}},
            "channels": ["RCS"],
        },
    )
    assert response.status_code == 200, response.text
    native = json.loads(response.json()["transcoded_message"]["RCS"])
    assert native == {
        "contentMessage": {"contentInfo": {"fileUrl": "https://cdn.example.com/a.mp4"}}
    }


def test_the_fake_rbm_answers_with_googles_errors(server: Server, api: httpx.Client) -> None:
    app = RcsApp(server, api)
    url = f"{server.url}/simulator/rcs/v1/phones/+{msisdn()}/agentMessages"
    params = {"messageId": "m1", "agentId": app.agent}
    good = {"contentMessage": {"text": "hi"}}
    bad_token = httpx.post(url, params=params, json=good, headers={"Authorization": "Bearer no"})
    assert bad_token.status_code == 401
    assert bad_token.json()["error"]["status"] == "UNAUTHENTICATED"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    malformed = httpx.post(url, params=params, json={"contentMessage": {}}, headers=auth)
    assert malformed.status_code == 400
    assert malformed.json()["error"]["status"] == "INVALID_ARGUMENT"
    sent = httpx.post(url, params=params, json=good, headers=auth)
    assert sent.status_code == 200, sent.text
    assert sent.json()["name"].endswith("/agentMessages/m1")
    again = httpx.post(url, params=params, json=good, headers=auth)
    assert again.status_code == 409 and again.json()["error"]["status"] == "ALREADY_EXISTS"


def test_a_tap_on_an_explicit_suggestion_is_reported_against_that_message(
    server: Server, api: httpx.Client, control: httpx.Client
) -> None:
    app = RcsApp(server, api)
    number = msisdn()
    explicit = {
        "contentMessage": {
            "text": "Main menu",
            "suggestions": [{"reply": {"text": "Menu", "postbackData": "menu"}}],
        }
    }
    message_id = app.send(
        number,
        {
            "text_message": {"text": "generic"},
            "explicit_channel_message": {"RCS": json.dumps(explicit)},
        },
    )
    assert inbox_entry(control, number, message_id)["text"] == "Main menu\n[Menu]"
    app.wait_for_status(message_id, "DELIVERED")
    tap = {"choice_response_message": {"message_id": "", "postback_data": "menu"}}
    response = control.post(f"/handsets/rcs/{number}/messages", json={"app_id": app.id, **tap})
    assert response.json()["native"]["message"]["data"]
    (inbound,) = app.wait_for_inbound()
    assert inbound["contact_message"] == {
        "choice_response_message": {"message_id": message_id, "postback_data": "menu"}
    }


def test_the_webhook_handshake_echoes_rbms_secret(server: Server, api: httpx.Client) -> None:
    app = RcsApp(server, api)
    answer = httpx.post(
        f"{server.url}/inbound/rcs/{app.id}", json={"clientToken": SECRET, "secret": "s3cr3t"}
    )
    assert (answer.status_code, answer.text) == (200, "s3cr3t")
    refused = httpx.post(
        f"{server.url}/inbound/rcs/{app.id}", json={"clientToken": "wrong", "secret": "s3cr3t"}
    )
    assert refused.status_code == 403


# --- deliveries again (§3.7: RBM retries for up to 7 days) -----------------------------------


def push(app: RcsApp, event: dict[str, Any]) -> httpx.Response:
    """`event` posted as RBM does, in a new push envelope, signed with the clientToken."""
    data = json.dumps({"sendTime": datetime.now(UTC).isoformat(), "agentId": app.agent} | event)
    digest = hmac.new(SECRET.encode(), data.encode(), hashlib.sha512).digest()
    body = {
        "message": {
            "data": base64.b64encode(data.encode()).decode(),
            "messageId": uuid.uuid4().hex,
        },
        "subscription": "projects/rbm/subscriptions/s",
    }
    return httpx.post(
        f"{app.server.url}/inbound/rcs/{app.id}",
        json=body,
        headers={"X-Goog-Signature": base64.b64encode(digest).decode()},
    )


def kept_requests(server: Server, app: RcsApp) -> list[tuple[str, str]]:
    rows = server.query(
        "SELECT outcome, detail FROM inbound_requests WHERE app_id = :a ORDER BY received_at",
        a=app.id,
    )
    return [(row["outcome"], row["detail"]) for row in rows]


def test_an_rcs_event_delivered_again_changes_nothing_and_is_recorded_as_a_duplicate(
    server: Server, api: httpx.Client
) -> None:
    app = RcsApp(server, api)
    sender = f"+{msisdn()}"
    typing = {"senderPhoneNumber": sender, "eventType": "IS_TYPING", "eventId": "EvTyping1"}
    other = {"senderPhoneNumber": sender, "eventType": "UNSUBSCRIBE", "eventId": "EvOther1"}
    for event in (typing, typing, other, other):
        response = push(app, event)
        assert response.status_code == 200, response.text
    # Another event of the same kind, with its own id, is news.
    assert push(app, typing | {"eventId": "EvTyping2"}).status_code == 200
    composing = app.callbacks("EVENT_INBOUND")
    assert [c["event"]["contact_event"] for c in composing] == [{"composing_event": {}}] * 2
    assert len(app.callbacks("UNSUPPORTED")) == 1
    assert [outcome for outcome, _ in kept_requests(server, app)] == [
        "duplicate",
        "unmapped",
        "duplicate",
    ]
    assert "'EvTyping1'" in kept_requests(server, app)[0][1]


def test_a_delivery_report_delivered_again_is_not_applied_again(
    server: Server, api: httpx.Client, control: httpx.Client
) -> None:
    app = RcsApp(server, api)
    number = msisdn()
    assert control.patch(f"/handsets/rcs/{number}", json={"auto_deliver": False}).is_success
    message_id = app.send(number, {"text_message": {"text": "parcel"}})
    app.wait_for_status(message_id, "QUEUED_ON_CHANNEL")
    delivered = {
        "senderPhoneNumber": f"+{number}",
        "eventType": "DELIVERED",
        "eventId": f"EvDelivered-{message_id}",
        "messageId": message_id,
    }
    for _ in range(2):
        assert push(app, delivered).status_code == 200
    assert app.statuses(message_id) == ["QUEUED_ON_CHANNEL", "DELIVERED"]
    rows = server.query(
        "SELECT status FROM message_statuses WHERE message_id = :m ORDER BY id", m=message_id
    )
    assert [row["status"] for row in rows] == ["QUEUED_ON_CHANNEL", "DELIVERED"]
    assert [outcome for outcome, _ in kept_requests(server, app)] == ["duplicate"]
    # A report chorus asked for again (its send not recorded yet) left no id behind: its
    # next delivery is processed, not taken for a duplicate.
    early = delivered | {"eventId": "EvEarly", "messageId": "01J0000000000000000000000Z"}
    for _ in range(2):
        assert push(app, early).status_code == 503
    assert [outcome for outcome, _ in kept_requests(server, app)] == ["duplicate"]


def test_a_user_message_delivered_again_is_received_once(server: Server, api: httpx.Client) -> None:
    """Guards what chorus did already: a user message is dropped by its messageId."""
    app = RcsApp(server, api)
    message = {"senderPhoneNumber": f"+{msisdn()}", "messageId": f"Ms{uuid.uuid4().hex}"}
    for text in ("hello", "hello", "hello (edited by a bad retry)"):
        assert push(app, message | {"text": text}).status_code == 200
    inbound = [c["message"]["contact_message"] for c in app.callbacks("MESSAGE_INBOUND")]
    assert inbound == [{"text_message": {"text": "hello"}}]


@pytest.mark.parametrize("backend", BACKENDS)
def test_event_ids_are_kept_while_rbm_retries_and_swept_after(backend: str) -> None:
    """Seen event ids are kept 8 days (RBM retries for 7), then the retention sweep drops
    them: the store does not grow for ever, and an event older than that is news again."""
    with (
        instance(backend, {"CHORUS_RETENTION_SWEEP_SECONDS": "1"}) as chorus,
        chorus.api() as api,
    ):
        app = RcsApp(chorus, api)
        sender = f"+{msisdn()}"
        typing = {"senderPhoneNumber": sender, "eventType": "IS_TYPING"}
        for event_id in ("EvOld", "EvRecent"):
            assert push(app, typing | {"eventId": event_id}).status_code == 200
        now = datetime.now(UTC)
        engine = sqlalchemy.create_engine(chorus.sync_url)
        with engine.begin() as connection:
            for event_id, days in (("EvOld", 8.1), ("EvRecent", 7.9)):
                connection.execute(
                    sqlalchemy.text(
                        "UPDATE seen_inbound_events SET seen_at = :t"
                        " WHERE app_id = :a AND event_id = :e"
                    ),
                    {"t": now - timedelta(days=days), "a": app.id, "e": event_id},
                )
        engine.dispose()

        def seen() -> list[str]:
            rows = chorus.query(
                "SELECT event_id FROM seen_inbound_events WHERE app_id = :a", a=app.id
            )
            return [row["event_id"] for row in rows]

        wait_for(lambda: seen() == ["EvRecent"], seconds=60, what=f"the sweep: {seen()}")
        for event_id in ("EvOld", "EvRecent"):
            assert push(app, typing | {"eventId": event_id}).status_code == 200
        composing = chorus.query(
            "SELECT id FROM callback_deliveries WHERE app_id = :a AND trigger = 'EVENT_INBOUND'",
            a=app.id,
        )
        assert len(composing) == 3
        assert sorted(seen()) == ["EvOld", "EvRecent"]


# --- delivery timeout and revocation (§3.3) ---------------------------------------------------


def reason_code(stored: Any) -> str | None:
    """The `code` of a status's stored reason (JSON text on SQLite)."""
    reason = json.loads(stored) if isinstance(stored, str) else stored
    return (reason or {}).get("code")


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_undelivered_rcs_message_is_revoked_at_the_delivery_timeout_and_falls_back(
    backend: str,
) -> None:
    with (
        instance(backend, {"CHORUS_RCS_DELIVERY_TIMEOUT": "1"}) as chorus,
        chorus.api() as api,
        chorus.control() as control,
    ):
        agent = f"agent_{uuid.uuid4().hex[:10]}"
        created = api.post(
            "/apps",
            json={
                "display_name": "rcs then sms",
                "channel_credentials": [
                    {
                        "channel": "RCS",
                        "static_bearer": {"claimed_identity": agent, "token": TOKEN},
                        "callback_secret": SECRET,
                    },
                    {
                        "channel": "SMS",
                        "static_bearer": {"claimed_identity": "46700000000", "token": "t"},
                    },
                ],
            },
        )
        assert created.status_code == 200, created.text
        app_id = created.json()["id"]

        def send(number: str) -> str:
            response = api.post(
                "/messages:send",
                json={
                    "app_id": app_id,
                    "recipient": {
                        "identified_by": {
                            "channel_identities": [
                                {"channel": "RCS", "identity": number},
                                {"channel": "SMS", "identity": number},
                            ]
                        }
                    },
                    "message": {"text_message": {"text": "Your parcel is here"}},
                },
            )
            assert response.status_code == 200, response.text
            return response.json()["message_id"]

        def history(message_id: str) -> list[tuple[str, str, str | None]]:
            rows = chorus.query(
                "SELECT status, channel, reason FROM message_statuses"
                " WHERE message_id = :m ORDER BY id",
                m=message_id,
            )
            return [(row["status"], row["channel"], reason_code(row["reason"])) for row in rows]

        silent, heard = msisdn(), msisdn()
        assert control.patch(f"/handsets/rcs/{silent}", json={"auto_deliver": False}).is_success

        late = send(silent)
        assert wait_for(
            lambda: (h := history(late)) and h[-1][0] == "DELIVERED" and h,
            what="the fallback's DELIVERED",
        ) == [
            ("QUEUED_ON_CHANNEL", "RCS", None),
            ("SWITCHING_CHANNEL", "RCS", "DELIVERY_TIMED_OUT"),
            ("QUEUED_ON_CHANNEL", "SMS", None),
            ("DELIVERED", "SMS", None),
        ]
        entry = inbox_entry(control, silent, late)
        assert entry["status"] == "revoked"
        assert entry["request"]["ttl"] == "1s"

        # Delivered in time: the revocation finds nothing to take back.
        prompt = send(heard)
        wait_for(
            lambda: (
                not chorus.query(
                    "SELECT id FROM outbox_jobs WHERE kind = 'messages.revoke_undelivered'"
                )
                and "READ" in [status for status, _, _ in history(prompt)]
            ),
            what="the revocation check",
        )
        assert [channel for _, channel, _ in history(prompt)] == ["RCS"] * 3
        assert inbox_entry(control, heard, prompt)["status"] == "read"
