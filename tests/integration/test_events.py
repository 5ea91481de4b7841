"""Events end to end (API.md Part B §4, §8): `events:send` over SMS, which cannot carry
events (CHANNELS.md part 1 §1.7: no composing, read or reply semantics), so every event
ends in an EVENT_DELIVERY FAILED report with UNSUPPORTED_OPERATION; the events store (list,
get, delete); the up-front 400s."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.callbacks.receiver import Receiver
from tests.integration.helpers import assert_error, wait_for
from tests.integration.pipeline_helpers import (
    SECRET,
    Hook,
    msisdn,
    send,
    signed_for_python_sdk,
    sms_app,
    to_sms,
)

COMPOSING = {"composing_event": {}}


@pytest.fixture
def hook(api: httpx.Client) -> Iterator[Hook]:
    receiver = Receiver()
    yield Hook(receiver, api)
    receiver.close()


def send_event(api: httpx.Client, app_id: str, recipient: dict, **fields: Any) -> str:
    body = {"app_id": app_id, "recipient": recipient, "event": COMPOSING, **fields}
    response = api.post("/events:send", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"event_id", "accepted_time"} and len(answer["event_id"]) == 26
    return answer["event_id"]


def event_reports(hook: Hook, app_id: str, event_id: str) -> list[dict]:
    return [
        b
        for b in hook.bodies(app_id, "event_delivery_report")
        if b["event_delivery_report"]["event_id"] == event_id
    ]


def wait_for_event_report(hook: Hook, app_id: str, event_id: str) -> dict:
    return wait_for(
        lambda: next(iter(event_reports(hook, app_id, event_id)), None),
        what=f"the delivery report of event {event_id}",
    )


def test_a_composing_event_over_sms_fails_unsupported_operation(
    api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    number = msisdn()
    event_id = send_event(api, app_id, to_sms(number), event_metadata="typing-1")
    body = wait_for_event_report(hook, app_id, event_id)
    report = body["event_delivery_report"]
    assert report["status"] == "FAILED"
    assert report["reason"]["code"] == "UNSUPPORTED_OPERATION"
    assert report["channel_identity"]["channel"] == "SMS"
    assert report["channel_identity"]["identity"] == number
    assert report["metadata"] == "typing-1"
    assert report["processing_mode"] == "CONVERSATION"
    assert body["message_metadata"] == "typing-1"  # event_metadata in the envelope
    [received] = [
        r
        for r in hook.received(app_id)
        if r.json().get("event_delivery_report", {}).get("event_id") == event_id
    ]
    assert signed_for_python_sdk(received, SECRET)
    assert len(event_reports(hook, app_id, event_id)) == 1  # one channel only, no fallback


def test_an_event_to_an_unknown_identity_creates_the_contact_but_no_conversation(
    api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    event_id = send_event(api, app_id, to_sms(msisdn()))
    report = wait_for_event_report(hook, app_id, event_id)["event_delivery_report"]
    assert report["contact_id"]
    contact = api.get(f"/contacts/{report['contact_id']}").json()
    assert contact["display_name"] == "Unknown"
    assert not hook.bodies(app_id, "conversation_start_notification")
    stored = api.get(f"/events/{event_id}").json()
    assert stored.get("conversation_id", "") == ""


def test_event_callback_url_gets_the_reports_instead_of_the_webhook(
    api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    target = hook.receiver.url(f"/events-{app_id}")
    event_id = send_event(api, app_id, to_sms(msisdn()), callback_url=target)
    wait_for(lambda: hook.receiver.received(f"/events-{app_id}"), what="the report at callback_url")
    [received] = hook.receiver.received(f"/events-{app_id}")
    assert received.json()["event_delivery_report"]["event_id"] == event_id
    assert event_reports(hook, app_id, event_id) == []


def test_events_are_stored_listed_got_and_deleted(api: httpx.Client, hook: Hook) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    number = msisdn()
    message_id = send(api, app_id, {"text_message": {"text": "hi"}}, to_sms(number))
    delivered = hook.wait_for_status(app_id, message_id, "DELIVERED")["message_delivery_report"]
    conversation_id, contact_id = delivered["conversation_id"], delivered["contact_id"]

    events = [send_event(api, app_id, to_sms(number)) for _ in range(3)]
    events.append(
        send_event(api, app_id, {"contact_id": contact_id}, event={"composing_end_event": {}})
    )
    for event_id in events:
        wait_for_event_report(hook, app_id, event_id)

    # Attached to the active conversation (§4.1), newest first.
    listed = api.get("/events", params={"conversation_id": conversation_id}).json()
    assert [e["id"] for e in listed["events"]] == list(reversed(events))
    assert listed["next_page_token"] == ""
    by_contact = api.get("/events", params={"contact_id": contact_id, "page_size": 2}).json()
    assert [e["id"] for e in by_contact["events"]] == [events[3], events[2]]
    rest = api.get(
        "/events",
        params={
            "contact_id": contact_id,
            "page_size": 2,
            "page_token": by_contact["next_page_token"],
        },
    ).json()
    assert [e["id"] for e in rest["events"]] == [events[1], events[0]]
    # An empty filter is no filter (as on GET /messages).
    unfiltered = api.get(
        "/events", params={"conversation_id": "", "contact_id": contact_id, "page_size": 1}
    ).json()
    assert [e["id"] for e in unfiltered["events"]] == [events[3]]

    got = api.get(f"/events/{events[3]}").json()
    assert got["id"] == events[3]
    assert got["direction"] == "TO_CONTACT"
    assert got["app_event"] == {"composing_end_event": {}}
    assert got["conversation_id"] == conversation_id and got["contact_id"] == contact_id
    assert got["channel_identity"]["channel"] == "SMS"
    assert got["processing_mode"] == "CONVERSATION"
    assert got["accept_time"].endswith("Z")

    assert api.delete(f"/events/{events[3]}").json() == {}
    assert_error(api.get(f"/events/{events[3]}"), 404, "NOT_FOUND")
    assert_error(api.delete(f"/events/{events[3]}"), 404, "NOT_FOUND")
    remaining = api.get("/events", params={"conversation_id": conversation_id}).json()["events"]
    assert [e["id"] for e in remaining] == list(reversed(events[:3]))


def test_a_dispatch_only_event_has_no_contact(api: httpx.Client, hook: Hook) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    event_id = send_event(api, app_id, to_sms(msisdn()), processing_strategy="DISPATCH_ONLY")
    report = wait_for_event_report(hook, app_id, event_id)["event_delivery_report"]
    assert report["processing_mode"] == "DISPATCH"
    assert report["contact_id"] == ""
    assert not hook.bodies(app_id, "contact_create_notification")
    # The app keeps no DISPATCH traffic (dispatch ttl_days 0, the default): as for messages,
    # the event is neither listed nor read back (API.md Part B §3.1).
    assert_error(api.get(f"/events/{event_id}"), 404, "NOT_FOUND")
    assert event_id not in [e["id"] for e in api.get("/events").json()["events"]]
    kept_app = sms_app(api, dispatch_retention_policy={"ttl_days": 1})
    hook.attach(kept_app)
    kept = send_event(api, kept_app, to_sms(msisdn()), processing_strategy="DISPATCH_ONLY")
    wait_for_event_report(hook, kept_app, kept)
    assert api.get(f"/events/{kept}").json()["processing_mode"] == "DISPATCH"


def test_only_the_first_channel_of_an_events_priority_order_counts(
    api: httpx.Client, hook: Hook
) -> None:
    """API.md Part B §4.1: extra entries are ignored, so one the app has no credentials for
    is no reason to refuse the event."""
    app_id = sms_app(api)
    hook.attach(app_id)
    event_id = send_event(
        api, app_id, to_sms(msisdn()), channel_priority_order=["SMS", "WHATSAPP", "RCS"]
    )
    report = wait_for_event_report(hook, app_id, event_id)["event_delivery_report"]
    assert report["channel_identity"]["channel"] == "SMS"


INVALID_EVENTS: list[tuple[str, dict[str, Any], str]] = [
    ("no event", {"event": None}, "event"),
    ("no event kind", {"event": {}}, "event"),
    ("two event kinds", {"event": {"composing_event": {}, "composing_end_event": {}}}, "event"),
    (
        "comment reply without text",
        {"event": {"comment_reply_event": {}}},
        "event.comment_reply_event.text",
    ),
    (
        "generic event payload not an object",
        {"event": {"generic_event": {"payload": "text"}}},
        "event.generic_event.payload",
    ),
    ("no app_id", {"app_id": None}, "app_id"),
    ("unknown app", {"app_id": "01UNKNOWNAPP0000000000000A"}, "app_id"),
    ("no recipient", {"recipient": None}, "recipient"),
    ("both recipients", {"recipient": {"contact_id": "C", **to_sms("46700000001")}}, "recipient"),
    (
        "priority channel without credentials",
        {"channel_priority_order": ["WHATSAPP"]},
        "channel_priority_order[0]",
    ),
    ("long event_metadata", {"event_metadata": "m" * 1025}, "event_metadata"),
    ("long correlation_id", {"correlation_id": "c" * 129}, "correlation_id"),
    ("bad queue", {"queue": "URGENT"}, "queue"),
    ("bad callback_url", {"callback_url": "not a url"}, "callback_url"),
    (
        "DISPATCH_ONLY with a contact_id",
        {
            "recipient": {"contact_id": "01CONTACT0000000000000000A"},
            "processing_strategy": "DISPATCH_ONLY",
        },
        "recipient.contact_id",
    ),
]


@pytest.mark.parametrize(
    ("changes", "field"), [pytest.param(c, f, id=w) for w, c, f in INVALID_EVENTS]
)
def test_an_invalid_event_is_400_naming_the_field(
    api: httpx.Client, changes: dict[str, Any], field: str
) -> None:
    app_id = sms_app(api)
    body = {"app_id": app_id, "recipient": to_sms(msisdn()), "event": COMPOSING, **changes}
    body = {k: v for k, v in body.items() if v is not None}
    assert_error(api.post("/events:send", json=body), 400, "INVALID_ARGUMENT", field=field)


def test_deleting_a_contact_deletes_its_traffic_outside_conversations(
    api: httpx.Client, hook: Hook
) -> None:
    """API.md Part A §4.7: nothing is left naming a deleted contact — neither an event sent
    to a new identity (a contact, no conversation) nor a send that failed before one."""
    app_id = sms_app(api)
    hook.attach(app_id)
    event_id = send_event(api, app_id, to_sms(msisdn()))
    wait_for_event_report(hook, app_id, event_id)
    event = api.get(f"/events/{event_id}").json()
    contact_id = event["contact_id"]
    assert contact_id and not event.get("conversation_id"), event
    without_identity = api.post(
        "/contacts",
        json={"channel_identities": [{"channel": "WHATSAPP", "identity": msisdn()}]},
    ).json()["id"]
    message_id = send(
        api, app_id, {"text_message": {"text": "hi"}}, {"contact_id": without_identity}
    )
    hook.wait_for_status(app_id, message_id, "FAILED")
    assert api.get(f"/messages/{message_id}").json()["contact_id"] == without_identity

    for contact in (contact_id, without_identity):
        assert api.delete(f"/contacts/{contact}").status_code == 200
    assert_error(api.get(f"/events/{event_id}"), 404, "NOT_FOUND")
    assert_error(api.get(f"/messages/{message_id}"), 404, "NOT_FOUND")
