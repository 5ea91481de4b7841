"""The send pipeline end to end over HTTP (API.md Part B §2.2 options, §3 resolution, status
machine, reasons, fallback, TTL, metadata strategies; §8 callbacks): SMS apps, the built-in
simulator as the channel, a webhook receiver in this process.

A dispatch on a channel chorus has no connector for (KAKAOTALK, `NO_CONNECTOR`) fails with
UNSUPPORTED_OPERATION, which is how these tests make a channel fail and watch the fallback to
SMS."""

import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.callbacks.receiver import Receiver
from tests.conftest import BACKENDS, Server
from tests.integration.helpers import wait_for
from tests.integration.pipeline_helpers import (
    NO_CONNECTOR,
    Hook,
    dedicated_server,
    handset,
    handset_writes,
    msisdn,
    send,
    set_handset,
    signed_for_python_sdk,
    sms_app,
    to_sms,
    wait_for_text,
)

TEXT = {"text_message": {"text": "Hello"}}


@pytest.fixture
def hook(api: httpx.Client) -> Iterator[Hook]:
    receiver = Receiver()
    yield Hook(receiver, api)
    receiver.close()


def identities(*pairs: tuple[str, str]) -> dict:
    return {
        "identified_by": {"channel_identities": [{"channel": c, "identity": i} for c, i in pairs]}
    }


def conversation(api: httpx.Client, conversation_id: str) -> dict:
    response = api.get(f"/conversations/{conversation_id}")
    assert response.status_code == 200, response.text
    return response.json()


def reports(hook: Hook, app_id: str, message_id: str) -> list[dict]:
    return [
        r.json()["message_delivery_report"]
        for r in hook.about(app_id, message_id)
        if "message_delivery_report" in r.json()
    ]


# ---------------------------------------------------------------- metadata and correlation


def test_message_metadata_and_correlation_id_are_echoed_in_every_report_and_later_inbound(
    server: Server, api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    number = msisdn()
    message_id = send(
        api, app_id, TEXT, to_sms(number), message_metadata="order-42", correlation_id="corr-42"
    )
    hook.wait_for_status(app_id, message_id, "DELIVERED")
    for received in hook.about(app_id, message_id):
        body = received.json()
        assert body["message_metadata"] == "order-42"
        assert body["correlation_id"] == "corr-42"
        payload_key = list(body)[-1]
        assert list(body) == [
            "app_id",
            "accepted_time",
            "event_time",
            "project_id",
            "message_metadata",
            "correlation_id",
            payload_key,
        ]
        payload = body.get("message_delivery_report") or body["message_submit_notification"]
        assert payload["metadata"] == "order-42"
        assert payload["processing_mode"] == "CONVERSATION"

    # §2.2: the correlation id is propagated afterwards to inbound callbacks of the same
    # conversation.
    handset_writes(server, number, app_id, "ok")
    inbound = hook.wait_for_inbound(app_id)
    assert inbound["correlation_id"] == "corr-42"
    assert "message_metadata" not in inbound  # conversation_metadata_report_view NONE


def test_conversation_metadata_replace_and_merge_patch_are_stored_and_reported_inbound_in_full(
    server: Server, api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(api, conversation_metadata_report_view="FULL")
    hook.attach(app_id)
    number = msisdn()
    first = send(api, app_id, TEXT, to_sms(number), conversation_metadata={"a": 1, "b": {"c": 2}})
    report = hook.wait_for_status(app_id, first, "DELIVERED")["message_delivery_report"]
    conversation_id = report["conversation_id"]
    assert conversation(api, conversation_id)["metadata_json"] == {"a": 1, "b": {"c": 2}}

    second = send(
        api,
        app_id,
        TEXT,
        to_sms(number),
        conversation_metadata={"a": None, "b": {"d": 3}},
        conversation_metadata_update_strategy="MERGE_PATCH",
    )
    hook.wait_for_status(app_id, second, "DELIVERED")
    assert conversation(api, conversation_id)["metadata_json"] == {"b": {"c": 2, "d": 3}}

    handset_writes(server, number, app_id, "first reply")
    inbound = hook.wait_for_inbound(app_id)
    assert inbound["message"]["conversation_id"] == conversation_id
    assert json.loads(inbound["message_metadata"]) == {"b": {"c": 2, "d": 3}}
    assert inbound["message_metadata"] == '{"b":{"c":2,"d":3}}'  # compact JSON

    third = send(
        api,
        app_id,
        TEXT,
        to_sms(number),
        conversation_metadata={"z": "new"},
        conversation_metadata_update_strategy="REPLACE",
    )
    hook.wait_for_status(app_id, third, "DELIVERED")
    assert conversation(api, conversation_id)["metadata_json"] == {"z": "new"}

    fourth = send(api, app_id, TEXT, to_sms(number))  # no conversation_metadata: untouched
    hook.wait_for_status(app_id, fourth, "DELIVERED")
    assert conversation(api, conversation_id)["metadata_json"] == {"z": "new"}

    handset_writes(server, number, app_id, "second reply")
    latest = hook.wait_for_inbound(app_id, lambda m: m["id"] != inbound["message"]["id"])
    assert latest["message_metadata"] == '{"z":"new"}'
    # Delivery reports always carry the send's message_metadata, never the conversation's.
    # (API.md §8.3: the send had none, so "").
    assert hook.about(app_id, fourth)[0].json()["message_metadata"] == ""


# ---------------------------------------------------------------- callback_url


def test_callback_url_receives_the_delivery_reports_and_the_webhook_only_the_rest(
    api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(
        api, callback_settings={"secret_for_overridden_callback_urls": "override-secret"}
    )
    hook.attach(app_id)
    override = hook.receiver.url(f"/override-{app_id}")
    message_id = send(api, app_id, TEXT, to_sms(msisdn()), callback_url=override)

    def overridden() -> list:
        return [
            r
            for r in hook.receiver.received(f"/override-{app_id}")
            if r.json().get("message_delivery_report", {}).get("status") == "DELIVERED"
        ]

    wait_for(overridden, what="DELIVERED at the callback_url")
    at_override = hook.receiver.received(f"/override-{app_id}")
    assert [r.json()["message_delivery_report"]["status"] for r in at_override] == [
        "QUEUED_ON_CHANNEL",
        "DELIVERED",
    ]
    for received in at_override:
        assert signed_for_python_sdk(received, "override-secret")
    at_webhook = hook.history(app_id, message_id)
    assert at_webhook == ["SUBMIT"]  # the submit notification is not a delivery report


def test_the_python_sdk_event_destination_target_is_the_callback_url(
    api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    override = hook.receiver.url(f"/alias-{app_id}")
    send(api, app_id, TEXT, to_sms(msisdn()), event_destination_target=override)
    wait_for(
        lambda: len(hook.receiver.received(f"/alias-{app_id}")) >= 2,
        what="reports at the event_destination_target",
    )
    assert not hook.bodies(app_id, "message_delivery_report")


# ---------------------------------------------------------------- recipients and contacts


def test_identified_by_creates_an_unknown_contact_once_and_the_second_send_reuses_it(
    api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    number = msisdn()
    first = send(api, app_id, TEXT, to_sms(number))
    one = hook.wait_for_status(app_id, first, "DELIVERED")["message_delivery_report"]
    second = send(api, app_id, TEXT, to_sms(f"+{number}"))
    two = hook.wait_for_status(app_id, second, "DELIVERED")["message_delivery_report"]
    assert one["contact_id"] == two["contact_id"]
    assert one["conversation_id"] == two["conversation_id"]

    contact = api.get(f"/contacts/{one['contact_id']}").json()
    assert contact["display_name"] == "Unknown"
    assert [(i["channel"], i["identity"]) for i in contact["channel_identities"]] == [
        ("SMS", number)
    ]
    created = [
        b
        for b in hook.bodies(app_id, "contact_create_notification")
        if b["contact_create_notification"]["contact"]["id"] == one["contact_id"]
    ]
    assert len(created) == 1
    started = [
        b
        for b in hook.bodies(app_id, "conversation_start_notification")
        if b["conversation_start_notification"]["conversation"]["id"] == one["conversation_id"]
    ]
    assert len(started) == 1
    assert (
        started[0]["conversation_start_notification"]["conversation"]["contact_id"]
        == (one["contact_id"])
    )


def test_identities_of_one_recipient_on_two_contacts_are_announced_per_channel(
    api: httpx.Client, hook: Hook
) -> None:
    """API.md §3.3: the first identity's contact is used, and the duplication callback names
    each channel with the contacts that hold the recipient's identity on it."""
    app_id = sms_app(api, "SMS", "WHATSAPP")
    hook.attach(app_id)
    number, other = msisdn(), msisdn()
    on_sms = api.post(
        "/contacts", json={"channel_identities": [{"channel": "SMS", "identity": number}]}
    ).json()["id"]
    on_whatsapp = api.post(
        "/contacts", json={"channel_identities": [{"channel": "WHATSAPP", "identity": other}]}
    ).json()["id"]
    recipient = {
        "identified_by": {
            "channel_identities": [
                {"channel": "SMS", "identity": number},
                {"channel": "WHATSAPP", "identity": other},
            ]
        }
    }
    message_id = send(api, app_id, TEXT, recipient)
    report = hook.wait_for_status(app_id, message_id, "DELIVERED")["message_delivery_report"]
    assert report["contact_id"] == on_sms

    def announced() -> list[dict]:
        return [
            b["duplicated_contact_identities_notification"]["duplicated_identities"]
            for b in hook.bodies(app_id, "duplicated_contact_identities_notification")
        ]

    assert wait_for(announced, what="the duplication callback") == [
        [
            {"channel": "SMS", "contact_ids": [on_sms]},
            {"channel": "WHATSAPP", "contact_ids": [on_whatsapp]},
        ]
    ]


def test_a_burst_of_sends_to_a_new_identity_creates_one_contact_and_one_conversation(
    api: httpx.Client, hook: Hook
) -> None:
    """§3.3/§3.4: the first send creates the contact and the conversation; every later one
    finds them — also when the workers resolve the messages at the same time."""
    app_id = sms_app(api)
    hook.attach(app_id)
    number = msisdn()
    sent = [send(api, app_id, TEXT, to_sms(number)) for _ in range(5)]
    found = [hook.wait_for_status(app_id, m, "DELIVERED")["message_delivery_report"] for m in sent]
    assert len({r["contact_id"] for r in found}) == 1, [r["contact_id"] for r in found]
    assert len({r["conversation_id"] for r in found}) == 1, [r["conversation_id"] for r in found]
    assert len(hook.bodies(app_id, "contact_create_notification")) == 1
    assert len(hook.bodies(app_id, "conversation_start_notification")) == 1


def test_a_send_by_contact_id_uses_the_contacts_identity(
    server: Server, api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    number = msisdn()
    contact = api.post(
        "/contacts",
        json={"channel_identities": [{"channel": "SMS", "identity": number}], "display_name": "Bo"},
    ).json()
    message_id = send(api, app_id, TEXT, {"contact_id": contact["id"]})
    report = hook.wait_for_status(app_id, message_id, "DELIVERED")["message_delivery_report"]
    assert report["contact_id"] == contact["id"]
    assert report["channel_identity"] == {"channel": "SMS", "identity": number, "app_id": ""}
    assert wait_for_text(server, number) == ["Hello"]


def test_an_unknown_contact_id_is_accepted_then_fails_contact_not_found(
    api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    message_id = send(api, app_id, TEXT, {"contact_id": "01NOSUCHCONTACT0000000000"})
    body = hook.wait_for_status(app_id, message_id, "FAILED")
    report = body["message_delivery_report"]
    assert report["reason"]["code"] == "CONTACT_NOT_FOUND"
    assert hook.history(app_id, message_id) == ["FAILED"]
    # No channel was ever chosen: no channel identity with an empty channel (not a channel
    # an SDK knows); the contact asked for is named (API.md §8.3).
    assert "channel_identity" not in report, report
    assert report["contact_id"] == "01NOSUCHCONTACT0000000000"
    # Delivery reports always carry the send's message_metadata, "" when it had none.
    assert body["message_metadata"] == ""


def test_a_contact_without_an_identity_the_app_can_use_fails_no_channel_identity(
    api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    contact = api.post(
        "/contacts", json={"channel_identities": [{"channel": NO_CONNECTOR, "identity": msisdn()}]}
    ).json()
    message_id = send(api, app_id, TEXT, {"contact_id": contact["id"]})
    body = hook.wait_for_status(app_id, message_id, "FAILED")
    assert body["message_delivery_report"]["reason"]["code"] == "NO_CHANNEL_IDENTITY_FOR_CONTACT"


# ---------------------------------------------------------------- channels and fallback


def test_a_failing_first_channel_switches_to_sms_and_the_conversation_follows(
    api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(api, NO_CONNECTOR, "SMS")
    hook.attach(app_id)
    number = msisdn()
    message_id = send(api, app_id, TEXT, identities((NO_CONNECTOR, number), ("SMS", number)))
    hook.wait_for_status(app_id, message_id, "DELIVERED")
    assert hook.history(app_id, message_id) == [
        "SWITCHING_CHANNEL",
        "SUBMIT",
        "QUEUED_ON_CHANNEL",
        "DELIVERED",
    ]
    switching, queued, delivered = reports(hook, app_id, message_id)
    assert switching["channel_identity"]["channel"] == NO_CONNECTOR
    assert switching["reason"]["code"] == "UNSUPPORTED_OPERATION"
    assert switching["reason"]["sub_code"] == "UNSPECIFIED_SUB_CODE"
    assert switching["reason"]["description"]
    assert queued["channel_identity"]["channel"] == "SMS"
    assert delivered["channel_identity"]["channel"] == "SMS"
    assert conversation(api, queued["conversation_id"])["active_channel"] == "SMS"

    stored = api.get(f"/messages/{message_id}").json()
    assert stored["channel_identity"]["channel"] == "SMS"  # the channel last tried


def test_the_active_conversation_channel_comes_first_for_a_contact_recipient(
    api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(api, NO_CONNECTOR, "SMS")
    hook.attach(app_id)
    number = msisdn()
    contact = api.post(
        "/contacts",
        json={
            "channel_identities": [
                {"channel": NO_CONNECTOR, "identity": number},
                {"channel": "SMS", "identity": number},
            ]
        },
    ).json()
    first = send(api, app_id, TEXT, {"contact_id": contact["id"]})
    hook.wait_for_status(app_id, first, "DELIVERED")
    assert (
        hook.history(app_id, first)[0] == "SWITCHING_CHANNEL"
    )  # contact priority: KAKAOTALK first

    second = send(api, app_id, TEXT, {"contact_id": contact["id"]})
    hook.wait_for_status(app_id, second, "DELIVERED")
    # The conversation is now active on SMS, which §3.2 (3a) tries first.
    assert hook.history(app_id, second) == ["SUBMIT", "QUEUED_ON_CHANNEL", "DELIVERED"]


def test_channel_priority_order_overrides_the_identity_order(api: httpx.Client, hook: Hook) -> None:
    app_id = sms_app(api, NO_CONNECTOR, "SMS")
    hook.attach(app_id)
    number = msisdn()
    message_id = send(
        api,
        app_id,
        TEXT,
        identities((NO_CONNECTOR, number), ("SMS", number)),
        channel_priority_order=["SMS", NO_CONNECTOR],
    )
    hook.wait_for_status(app_id, message_id, "DELIVERED")
    assert hook.history(app_id, message_id) == ["SUBMIT", "QUEUED_ON_CHANNEL", "DELIVERED"]


def test_channel_priority_order_skips_channels_without_an_identity(
    api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(api, NO_CONNECTOR, "SMS")
    hook.attach(app_id)
    message_id = send(
        api, app_id, TEXT, to_sms(msisdn()), channel_priority_order=[NO_CONNECTOR, "SMS"]
    )
    hook.wait_for_status(app_id, message_id, "DELIVERED")
    assert hook.history(app_id, message_id) == ["SUBMIT", "QUEUED_ON_CHANNEL", "DELIVERED"]


def test_the_last_candidates_failure_ends_failed_with_that_channels_reason(
    api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(api, NO_CONNECTOR, "SMS")
    hook.attach(app_id)
    message_id = send(api, app_id, TEXT, identities((NO_CONNECTOR, msisdn())))
    body = hook.wait_for_status(app_id, message_id, "FAILED")
    assert body["message_delivery_report"]["reason"]["code"] == "UNSUPPORTED_OPERATION"
    assert hook.history(app_id, message_id) == ["FAILED"]


def test_a_failed_sms_delivery_report_falls_back_to_the_next_channel(
    server: Server, api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(api, "SMS", NO_CONNECTOR)
    hook.attach(app_id)
    number = msisdn()
    set_handset(server, number, reachable=False)
    message_id = send(api, app_id, TEXT, identities(("SMS", number), (NO_CONNECTOR, number)))
    hook.wait_for_status(app_id, message_id, "FAILED")
    assert hook.history(app_id, message_id) == [
        "SUBMIT",
        "QUEUED_ON_CHANNEL",
        "SWITCHING_CHANNEL",
        "FAILED",
    ]
    _, switching, failed = reports(hook, app_id, message_id)
    assert switching["reason"]["code"] == "RECIPIENT_NOT_REACHABLE"
    assert switching["channel_identity"]["channel"] == "SMS"
    assert failed["channel_identity"]["channel"] == NO_CONNECTOR
    assert failed["reason"]["code"] == "UNSUPPORTED_OPERATION"


def unconfirmed_sms_then_no_connector(
    server: Server, api: httpx.Client, hook: Hook
) -> tuple[str, dict[str, Any]]:
    """An app with delivery-report-based fallback (10 s, the minimum) from SMS to a channel
    without a connector, and a recipient whose SMS handset never confirms delivery."""
    app_id = sms_app(
        api,
        "SMS",
        NO_CONNECTOR,
        delivery_report_based_fallback={"enabled": True, "delivery_report_waiting_time": 10},
    )
    hook.attach(app_id)
    number = msisdn()
    set_handset(server, number, auto_deliver=False)
    return app_id, identities(("SMS", number), (NO_CONNECTOR, number))


def test_delivery_report_based_fallback_switches_when_no_report_arrives_in_time(
    server: Server, api: httpx.Client, hook: Hook
) -> None:
    """The SMS handset does not confirm delivery (auto_deliver false): after the app's
    waiting time (10 s, the minimum) chorus gives up on SMS with DELIVERY_REPORT_TIME_OUT and
    tries KAKAOTALK, which fails (no connector) and ends the message."""
    app_id, recipient = unconfirmed_sms_then_no_connector(server, api, hook)
    message_id = send(api, app_id, TEXT, recipient)
    hook.wait_for_status(app_id, message_id, "FAILED", seconds=60)
    assert hook.history(app_id, message_id) == [
        "SUBMIT",
        "QUEUED_ON_CHANNEL",
        "SWITCHING_CHANNEL",
        "FAILED",
    ]
    _, switching, failed = reports(hook, app_id, message_id)
    assert switching["reason"]["code"] == "DELIVERY_REPORT_TIME_OUT"
    assert switching["channel_identity"]["channel"] == "SMS"
    assert failed["reason"]["code"] == "UNSUPPORTED_OPERATION"


def test_a_fallback_due_after_the_ttl_ends_failed_message_expired(
    server: Server, api: httpx.Client, hook: Hook
) -> None:
    """API.md Part B §3.7: a message that would have to fall back after its ttl ends FAILED
    with MESSAGE_EXPIRED on the channel it was on; it announced SWITCHING_CHANNEL and was
    failed on a channel never tried."""
    app_id, recipient = unconfirmed_sms_then_no_connector(server, api, hook)
    message_id = send(api, app_id, TEXT, recipient, ttl="5s")  # expires before the wait ends
    hook.wait_for_status(app_id, message_id, "FAILED", seconds=60)
    assert hook.history(app_id, message_id) == ["SUBMIT", "QUEUED_ON_CHANNEL", "FAILED"]
    failed = reports(hook, app_id, message_id)[-1]
    assert failed["reason"]["code"] == "MESSAGE_EXPIRED"
    assert failed["channel_identity"]["channel"] == "SMS"


# ---------------------------------------------------------------- SMS failures and properties


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (402, "RECIPIENT_NOT_REACHABLE"),
        (406, "DELIVERY_TIMED_OUT"),
        (411, "MESSAGE_SPLIT_REQUIRED"),
        (60, "DELIVERY_REJECTED_DUE_TO_POLICY"),
        (410, "CHANNEL_BAD_CONFIGURATION"),
        (405, "BAD_REQUEST"),
        (407, "CHANNEL_FAILURE"),
    ],
)
def test_a_failed_sms_delivery_report_ends_failed_with_the_mapped_reason(
    server: Server, api: httpx.Client, hook: Hook, code: int, reason: str
) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    number = msisdn()
    set_handset(server, number, fail_next=code)
    message_id = send(api, app_id, TEXT, to_sms(number))
    body = hook.wait_for_status(app_id, message_id, "FAILED")
    assert body["message_delivery_report"]["reason"]["code"] == reason
    assert hook.history(app_id, message_id) == ["SUBMIT", "QUEUED_ON_CHANNEL", "FAILED"]

    # fail_next clears: the next message is delivered.
    again = send(api, app_id, TEXT, to_sms(number))
    hook.wait_for_status(app_id, again, "DELIVERED")


def test_more_parts_than_sms_max_number_of_message_parts_fails_message_split_required(
    api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    message_id = send(
        api,
        app_id,
        {"text_message": {"text": "x" * 400}},
        to_sms(msisdn()),
        channel_properties={"SMS_MAX_NUMBER_OF_MESSAGE_PARTS": "2"},
    )
    body = hook.wait_for_status(app_id, message_id, "FAILED")
    assert body["message_delivery_report"]["reason"]["code"] == "MESSAGE_SPLIT_REQUIRED"


def test_a_text_over_the_sms_limit_is_accepted_then_fails_bad_request(
    server: Server, api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    number = msisdn()
    message_id = send(api, app_id, {"text_message": {"text": "y" * 2001}}, to_sms(number))
    body = hook.wait_for_status(app_id, message_id, "FAILED")
    assert body["message_delivery_report"]["reason"]["code"] == "BAD_REQUEST"
    assert handset(server, number) is None  # nothing reached the channel


def test_sms_channel_properties_reach_the_native_batch(server: Server, api: httpx.Client) -> None:
    app_id = sms_app(api)
    number = msisdn()
    message_id = send(
        api,
        app_id,
        TEXT,
        to_sms(number),
        channel_properties={"SMS_SENDER": "Acme", "SMS_FLASH_MESSAGE": "TRUE", "UNKNOWN_KEY": "x"},
    )
    wait_for_text(server, number)
    [entry] = handset(server, number)["inbox"]
    assert entry["request"]["from"] == "Acme"
    assert entry["request"]["flash_message"] is True
    assert entry["request"]["client_reference"] == message_id


# ---------------------------------------------------------------- modes and queues


def test_dispatch_only_touches_no_contact_and_is_listed_from_the_dispatch_source(
    api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(
        api, dispatch_retention_policy={"retention_type": "MESSAGE_EXPIRE_POLICY", "ttl_days": 1}
    )
    hook.attach(app_id)
    number = msisdn()
    message_id = send(
        api, app_id, TEXT, to_sms(number), processing_strategy="DISPATCH_ONLY", correlation_id="d1"
    )
    body = hook.wait_for_status(app_id, message_id, "DELIVERED")
    report = body["message_delivery_report"]
    assert report["processing_mode"] == "DISPATCH"
    assert report["contact_id"] == "" and report["conversation_id"] == ""
    assert body["correlation_id"] == "d1"
    assert not hook.bodies(app_id, "contact_create_notification")
    assert not hook.bodies(app_id, "conversation_start_notification")

    listed = api.get("/messages", params={"app_id": app_id, "messages_source": "DISPATCH_SOURCE"})
    assert [m["id"] for m in listed.json()["messages"]] == [message_id]
    assert listed.json()["messages"][0]["processing_mode"] == "DISPATCH"
    assert api.get("/messages", params={"app_id": app_id}).json()["messages"] == []
    assert api.get(f"/messages/{message_id}").status_code == 404
    fetched = api.get(f"/messages/{message_id}", params={"messages_source": "DISPATCH_SOURCE"})
    assert fetched.status_code == 200 and fetched.json()["conversation_id"] == ""


def test_dispatch_messages_are_not_stored_without_dispatch_retention(
    api: httpx.Client, hook: Hook
) -> None:
    app_id = sms_app(api)  # dispatch_retention_policy.ttl_days defaults to 0
    hook.attach(app_id)
    message_id = send(api, app_id, TEXT, to_sms(msisdn()), processing_strategy="DISPATCH_ONLY")
    hook.wait_for_status(app_id, message_id, "DELIVERED")
    listed = api.get("/messages", params={"app_id": app_id, "messages_source": "DISPATCH_SOURCE"})
    assert listed.json()["messages"] == []
    fetched = api.get(f"/messages/{message_id}", params={"messages_source": "DISPATCH_SOURCE"})
    assert fetched.status_code == 404


def test_a_dispatch_mode_app_sends_without_contacts(api: httpx.Client, hook: Hook) -> None:
    app_id = sms_app(api, processing_mode="DISPATCH")
    hook.attach(app_id)
    message_id = send(api, app_id, TEXT, to_sms(msisdn()))
    report = hook.wait_for_status(app_id, message_id, "DELIVERED")["message_delivery_report"]
    assert report["processing_mode"] == "DISPATCH" and report["contact_id"] == ""


@pytest.mark.parametrize("ttl_days", [1, 0])
def test_a_reply_in_dispatch_mode_carries_what_the_latest_send_attached_to_the_identity(
    server: Server, api: httpx.Client, hook: Hook, ttl_days: int
) -> None:
    """DISPATCH mode has no conversation: a send's conversation_metadata and correlation_id
    are attached to the recipient identity, kept while the dispatch store keeps the send
    (API.md Part B §3.1, §8.1, §8.5); without a dispatch store, nothing is."""
    app_id = sms_app(
        api,
        processing_mode="DISPATCH",
        conversation_metadata_report_view="FULL",
        dispatch_retention_policy={"retention_type": "MESSAGE_EXPIRE_POLICY", "ttl_days": ttl_days},
    )
    hook.attach(app_id)
    number = msisdn()
    for correlation, order in (("first", 1), ("latest", 2)):
        message_id = send(
            api,
            app_id,
            TEXT,
            to_sms(number),
            correlation_id=correlation,
            conversation_metadata={"order": order},
        )
        hook.wait_for_status(app_id, message_id, "DELIVERED")
    handset_writes(server, number, app_id, "a reply")
    inbound = hook.wait_for_inbound(app_id)
    if ttl_days:
        assert inbound["correlation_id"] == "latest"
        assert inbound["message_metadata"] == '{"order":2}'
    else:
        assert "correlation_id" not in inbound
        assert inbound["message_metadata"] == ""


def test_a_high_priority_message_is_accepted_and_delivered(api: httpx.Client, hook: Hook) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    message_id = send(api, app_id, TEXT, to_sms(msisdn()), queue="HIGH_PRIORITY")
    hook.wait_for_status(app_id, message_id, "DELIVERED")


def test_a_message_with_a_ttl_is_delivered_within_it(api: httpx.Client, hook: Hook) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    message_id = send(api, app_id, TEXT, to_sms(msisdn()), ttl="3600s")
    hook.wait_for_status(app_id, message_id, "DELIVERED")


# ---------------------------------------------------------------- TTL expiry


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_message_not_dispatched_before_its_ttl_fails_message_expired(backend: str) -> None:
    """Deterministic: the server accepts the sends with its workers off, so nothing can be
    dispatched; it is restarted with workers only once the ttl has passed. The message
    without a ttl is delivered; the one with `ttl: "3s"` ends FAILED MESSAGE_EXPIRED."""
    receiver = Receiver()
    try:
        with dedicated_server(backend, CHORUS_RUN_WORKERS="false") as chorus:
            with chorus.api() as api:
                app_id = sms_app(api)
                Hook(receiver, api).attach(app_id)
                number = msisdn()
                expiring = api.post(
                    "/messages:send",
                    json={
                        "app_id": app_id,
                        "recipient": to_sms(number),
                        "message": TEXT,
                        "ttl": "3s",
                    },
                )
                assert expiring.status_code == 200, expiring.text
                keeping = send(api, app_id, {"text_message": {"text": "no ttl"}}, to_sms(number))
            accepted = datetime.fromisoformat(
                expiring.json()["accepted_time"].replace("Z", "+00:00")
            )
            chorus.stop()
            wait_for(
                lambda: time.time() > accepted.timestamp() + 3.5, seconds=10, what="the ttl to pass"
            )
            chorus.start(CHORUS_RUN_WORKERS="true")
            with chorus.api() as api:
                hook = Hook(receiver, api)
                expired_id = expiring.json()["message_id"]
                body = hook.wait_for_status(app_id, expired_id, "FAILED")
                assert body["message_delivery_report"]["reason"]["code"] == "MESSAGE_EXPIRED"
                assert hook.history(app_id, expired_id) == ["FAILED"]
                hook.wait_for_status(app_id, keeping, "DELIVERED")
            assert wait_for_text_at(chorus.url, number) == ["no ttl"]
    finally:
        receiver.close()


def wait_for_text_at(url: str, number: str) -> list[str]:
    def texts() -> list[str]:
        response = httpx.get(f"{url}/simulator/v1/handsets/sms/{number}")
        if response.status_code != 200:
            return []
        return [e["text"] for e in response.json()["inbox"] if e["direction"] == "received"]

    return wait_for(texts, what=f"a message on {number}")


def test_a_conversation_a_send_starts_is_announced_with_the_sends_metadata_and_correlation(
    api: httpx.Client, hook: Hook
) -> None:
    """CONVERSATION_START carries the conversation as it is after the change (API.md Part B
    §8.3): the send that started it gave it its metadata and correlation id (they were set
    after the announcement)."""
    app_id = sms_app(api)
    hook.attach(app_id, ["CONVERSATION_START"])
    send(
        api,
        app_id,
        TEXT,
        to_sms(msisdn()),
        correlation_id="corr-start",
        conversation_metadata={"order": 42},
    )
    [started] = wait_for(
        lambda: hook.bodies(app_id, "conversation_start_notification"), what="CONVERSATION_START"
    )
    announced = started["conversation_start_notification"]["conversation"]
    assert announced["correlation_id"] == "corr-start"
    assert announced["metadata_json"] == {"order": 42}
    assert announced == conversation(api, announced["id"])


def test_a_conversation_an_inbound_message_starts_is_announced_as_received(
    server: Server, api: httpx.Client, hook: Hook
) -> None:
    """The start notification shows the conversation after the change: received into at the
    message's time (its last_received was announced empty, as 1970)."""
    app_id = sms_app(api)
    hook.attach(app_id, ["CONVERSATION_START", "MESSAGE_INBOUND"])
    handset_writes(server, msisdn(), app_id, "hello first")
    [started] = wait_for(
        lambda: hook.bodies(app_id, "conversation_start_notification"), what="CONVERSATION_START"
    )
    inbound = hook.wait_for_inbound(app_id)["message"]
    announced = started["conversation_start_notification"]["conversation"]
    assert announced["id"] == inbound["conversation_id"]
    assert announced["last_received"] == inbound["accept_time"]
    assert announced == conversation(api, announced["id"])


def test_smart_conversation_apps_get_the_message_redacted_and_its_analysis(
    server: Server, api: httpx.Client, hook: Hook
) -> None:
    """API.md Part B §8.2–§8.3: with smart_conversation enabled, an inbound message also
    comes as `message_redaction` (digit runs masked) and with a stub analysis; other apps
    get neither."""
    app_id = sms_app(api, smart_conversation={"enabled": True})
    plain_app = sms_app(api)
    triggers = [
        "MESSAGE_INBOUND",
        "MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION",
        "SMART_CONVERSATIONS",
    ]
    hook.attach(app_id, triggers)
    hook.attach(plain_app, triggers)
    number = msisdn()
    handset_writes(server, number, app_id, "card 4111 1111, call me")
    handset_writes(server, number, plain_app, "card 4111 1111, call me")
    inbound = hook.wait_for_inbound(app_id)
    [redaction] = wait_for(lambda: hook.bodies(app_id, "message_redaction"), what="redaction")
    [smart] = wait_for(
        lambda: hook.bodies(app_id, "smart_conversation_notification"), what="analysis"
    )
    message = inbound["message"]
    assert redaction["message_redaction"] == {
        **message,
        "contact_message": {"text_message": {"text": "card **** ****, call me"}},
    }
    assert smart["smart_conversation_notification"] == {
        "contact_id": message["contact_id"],
        "channel_identity": number,
        "channel": "SMS",
        "message_id": message["id"],
        "conversation_id": message["conversation_id"],
        "analysis_results": {
            "ml_sentiment_result": [
                {
                    "message": "card 4111 1111, call me",
                    "results": [{"sentiment": "neutral", "score": 1.0}],
                    "sentiment": "neutral",
                    "score": 1.0,
                }
            ],
            "ml_nlu_result": [
                {"message": "card 4111 1111, call me", "results": [], "intent": "", "score": 0.0}
            ],
            "ml_pii_result": [
                {"message": "card 4111 1111, call me", "masked": "card **** ****, call me"}
            ],
        },
    }
    for body in (redaction, smart):
        assert (body["app_id"], body["project_id"]) == (app_id, inbound["project_id"])
    hook.wait_for_inbound(plain_app)
    assert not hook.bodies(plain_app, "message_redaction")
    assert not hook.bodies(plain_app, "smart_conversation_notification")
