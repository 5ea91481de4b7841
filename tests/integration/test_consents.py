"""Opt-in / opt-out registration, consent lists and their audit records, and consent on the
send path (API.md Part A §6.2, Part B §6.2, §8.3; CHANNELS.md Decision 6, part 1 §1.6, §2.6,
part 2 §2.6–§2.7, §3.7): a real server, the simulator as every channel."""

import hashlib
import hmac
import json
import re
import time
from typing import Any

import httpx
import pytest
from sinch import SinchClient

from tests.conftest import Server
from tests.integration.consent_helpers import (
    SECRET,
    channel_opt_out,
    consent_app,
    handset_writes,
    identities,
    msisdn,
    payloads,
    received,
    send,
    wait_for_payloads,
    wait_for_status,
)
from tests.integration.helpers import assert_error, wait_for
from tests.integration.pipeline_helpers import dedicated_server

ULID = re.compile(r"^[0-9A-Z]{26}$")


def opt_out(api: httpx.Client, body: dict[str, Any], **params: str) -> dict[str, Any]:
    response = api.post("/optouts:register", json=body, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def opt_in(api: httpx.Client, body: dict[str, Any], **params: str) -> dict[str, Any]:
    response = api.post("/optins:register", json=body, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def listed(api: httpx.Client, app_id: str, list_type: str = "OPT_OUT_ALL") -> list[str]:
    response = api.get(f"/apps/{app_id}/consents/{list_type}", params={"page_size": 50})
    assert response.status_code == 200, response.text
    return [i["identity"] for i in response.json()["identities"]]


def audit(api: httpx.Client, app_id: str, identity: str) -> list[dict[str, Any]]:
    response = api.get(f"/apps/{app_id}/consents/identities/{identity}")
    assert response.status_code == 200, response.text
    return response.json()["audit_records"]


# --- registration: validation ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/optins:register", "/optouts:register"])
def test_registration_refuses_bad_requests_naming_the_field(api: httpx.Client, path: str) -> None:
    app_id = consent_app(api, "SMS")
    recipient = identities(("SMS", msisdn()))
    for body, field in (
        ({"recipient": recipient}, "app_id"),
        ({"app_id": "01NOSUCHAPP000000000000000", "recipient": recipient}, "app_id"),
        ({"app_id": app_id}, "recipient"),
        ({"app_id": app_id, "recipient": {}}, "recipient"),
        ({"app_id": app_id, "recipient": {**recipient, "contact_id": "x"}}, "recipient"),
        (
            {"app_id": app_id, "recipient": {"identified_by": {"channel_identities": []}}},
            "recipient.identified_by.channel_identities",
        ),
        ({"app_id": app_id, "recipient": recipient, "channels": ["PIGEON"]}, "channels[0]"),
    ):
        assert_error(api.post(path, json=body), 400, "INVALID_ARGUMENT", field=field)
    assert_error(api.post(path, content=b"[1]"), 400, "INVALID_ARGUMENT")


# --- registration: responses, notifications, lists ---------------------------------------------


def test_opt_out_by_identities_reports_each_channel_and_fills_the_list(
    server: Server, api: httpx.Client
) -> None:
    app_id = consent_app(api, "SMS", "WHATSAPP")
    number = msisdn()
    recipient = identities(("SMS", f"+{number}"), ("WHATSAPP", number))
    answer = opt_out(api, {"app_id": app_id, "recipient": recipient})
    assert set(answer) == {"opt_out", "request_id"}
    assert ULID.match(answer["request_id"])
    assert answer["opt_out"] == {
        "app_id": app_id,
        "channels": ["SMS", "WHATSAPP"],
        "recipient": recipient,
    }
    found = wait_for_payloads(server, app_id, "opt_out_notification", 2)
    by_channel = {p["channel"]: p for p in found}
    common = {
        "request_id": answer["request_id"],
        "identity": number,
        "processing_mode": "CONVERSATION",
    }
    assert by_channel["WHATSAPP"] == {
        **common,
        "contact_id": "",
        "channel": "WHATSAPP",
        "status": "OPT_OUT_SUCCEEDED",
    }
    # SMS has no opt-out concept of its own: status unspecified, the opt-out still holds.
    assert by_channel["SMS"]["status"] == "OPT_OUT_STATUS_UNSPECIFIED"
    assert "error_details" not in by_channel["SMS"]
    body = next(c for c in server.recorded_callbacks(app_id) if "opt_out_notification" in c)
    # The envelope, then exactly one payload key (API.md Part B §8.1); no trigger key.
    assert set(body) == {
        "trigger",  # added by the test helper, not part of the body
        "app_id",
        "project_id",
        "accepted_time",
        "event_time",
        "opt_out_notification",
    }
    assert listed(api, app_id) == [number]
    records = audit(api, app_id, number)
    assert len(records) == 1  # one list change, however many channels
    record = records[0]
    assert {k: v for k, v in record.items() if k != "datetime"} == {
        "origin": "ORIGIN_API",
        "operation": "OPERATION_INSERT",
        "list_type": "OPT_OUT_ALL",
        "project_id": server.project_id,
        "app_id": app_id,
    }
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", record["datetime"])
    # The Node SDK puts a phone number in the path with its "+", unencoded.
    assert audit(api, app_id, f"+{number}") == records


def test_request_id_is_taken_from_the_query_first_then_the_body(
    server: Server, api: httpx.Client
) -> None:
    app_id = consent_app(api, "WHATSAPP")
    recipient = identities(("WHATSAPP", msisdn()))
    body = {"app_id": app_id, "recipient": recipient, "request_id": "from-body"}
    assert opt_in(api, body)["request_id"] == "from-body"
    assert opt_in(api, body, request_id="from-query")["request_id"] == "from-query"
    found = wait_for_payloads(server, app_id, "opt_in_notification", 2)
    assert sorted(p["request_id"] for p in found) == ["from-body", "from-query"]
    assert {p["status"] for p in found} == {"OPT_IN_SUCCEEDED"}


def test_channels_narrow_the_identities_covered(server: Server, api: httpx.Client) -> None:
    app_id = consent_app(api, "SMS", "WHATSAPP")
    number = msisdn()
    answer = opt_out(
        api,
        {
            "app_id": app_id,
            "channels": ["WHATSAPP", "RCS"],
            "recipient": identities(("SMS", number), ("WHATSAPP", number)),
        },
    )
    assert answer["opt_out"]["channels"] == ["WHATSAPP", "RCS"]
    found = wait_for_payloads(server, app_id, "opt_out_notification", 2)
    by_channel = {p["channel"]: p for p in found}
    assert by_channel["WHATSAPP"]["status"] == "OPT_OUT_SUCCEEDED"
    assert by_channel["RCS"]["status"] == "OPT_OUT_FAILED"
    assert "RCS" in by_channel["RCS"]["error_details"]["description"]
    assert "identity" not in by_channel["RCS"]


def test_a_contact_is_covered_on_all_its_channels(server: Server, api: httpx.Client) -> None:
    app_id = consent_app(api, "SMS", "WHATSAPP")
    number = msisdn()
    contact = api.post(
        "/contacts",
        json={
            "display_name": "Consenting",
            "channel_identities": [
                {"channel": "SMS", "identity": number},
                {"channel": "WHATSAPP", "identity": number},
            ],
        },
    )
    assert contact.status_code == 200, contact.text
    contact_id = contact.json()["id"]
    answer = opt_out(api, {"app_id": app_id, "recipient": {"contact_id": contact_id}})
    assert answer["opt_out"] == {
        "app_id": app_id,
        "channels": ["SMS", "WHATSAPP"],
        "recipient": {"contact_id": contact_id},
    }
    found = wait_for_payloads(server, app_id, "opt_out_notification", 2)
    assert {p["contact_id"] for p in found} == {contact_id}
    assert {(p["channel"], p["identity"]) for p in found} == {
        ("SMS", number),
        ("WHATSAPP", number),
    }
    # A channel the contact lacks fails, still naming the contact (API.md Part B §8.3).
    opt_out(api, {"app_id": app_id, "channels": ["RCS"], "recipient": {"contact_id": contact_id}})
    lacking = wait_for_payloads(server, app_id, "opt_out_notification", 3)[-1]
    assert (lacking["channel"], lacking["status"]) == ("RCS", "OPT_OUT_FAILED")
    assert lacking["contact_id"] == contact_id


def test_an_unknown_contact_is_one_failed_notification(server: Server, api: httpx.Client) -> None:
    app_id = consent_app(api, "WHATSAPP")
    answer = opt_in(
        api,
        {
            "app_id": app_id,
            "channels": [],
            "recipient": {"contact_id": "01NOSUCHCONTACT0000000000"},
        },
    )
    assert answer["opt_in"]["channels"] == []
    [notification] = wait_for_payloads(server, app_id, "opt_in_notification")
    assert notification["status"] == "OPT_IN_FAILED"
    assert "01NOSUCHCONTACT0000000000" in notification["error_details"]["description"]
    assert notification["request_id"] == answer["request_id"]


def test_opt_in_clears_the_opt_out_and_the_list(server: Server, api: httpx.Client) -> None:
    app_id = consent_app(api, "SMS", "WHATSAPP")
    number = msisdn()
    both = {"app_id": app_id, "recipient": identities(("SMS", number), ("WHATSAPP", number))}
    opt_out(api, both)
    wait_for_payloads(server, app_id, "opt_out_notification", 2)
    # Opting in on one channel keeps the identity listed while the other holds an opt-out.
    opt_in(api, {**both, "channels": ["SMS"]})
    wait_for_payloads(server, app_id, "opt_in_notification", 1)
    assert listed(api, app_id) == [number]
    opt_in(api, {**both, "channels": ["WHATSAPP"]})
    wait_for_payloads(server, app_id, "opt_in_notification", 2)
    assert listed(api, app_id) == []
    assert [(r["operation"], r["origin"]) for r in audit(api, app_id, number)] == [
        ("OPERATION_INSERT", "ORIGIN_API"),
        ("OPERATION_DELETE", "ORIGIN_API"),
    ]


# --- the consents endpoints ----------------------------------------------------------------------


def test_consent_lists_are_paged_in_the_order_identities_were_added(
    server: Server, api: httpx.Client
) -> None:
    app_id = consent_app(api, "SMS")
    numbers = [msisdn() for _ in range(12)]
    for number in numbers:
        opt_out(api, {"app_id": app_id, "recipient": identities(("SMS", number))})
        wait_for(lambda n=number: n in listed(api, app_id), what=f"{number} on the list")
    first = api.get(f"/apps/{app_id}/consents/OPT_OUT_ALL")
    assert first.status_code == 200, first.text
    page = first.json()
    assert [i["identity"] for i in page["identities"]] == numbers[:10]
    assert re.match(r"^[A-Za-z0-9_-]+$", page["next_page_token"])
    second = api.get(
        f"/apps/{app_id}/consents/OPT_OUT_ALL",
        params={"page_token": page["next_page_token"], "page_size": 10},
    ).json()
    assert second == {"identities": [{"identity": n} for n in numbers[10:]], "next_page_token": ""}
    small = api.get(f"/apps/{app_id}/consents/OPT_OUT_ALL", params={"page_size": 5}).json()
    assert len(small["identities"]) == 5 and small["next_page_token"]
    assert api.get(f"/apps/{app_id}/consents/OPT_OUT_MARKETING").json() == {
        "identities": [],
        "next_page_token": "",
    }


def test_consents_endpoints_refuse_bad_paths_and_parameters(api: httpx.Client) -> None:
    app_id = consent_app(api, "SMS")
    assert_error(api.get(f"/apps/{app_id}/consents/OPT_IN_ALL"), 400, field="list_type")
    assert_error(
        api.get(f"/apps/{app_id}/consents/OPT_OUT_ALL", params={"page_size": 51}),
        400,
        field="page_size",
    )
    assert_error(
        api.get(f"/apps/{app_id}/consents/OPT_OUT_ALL", params={"page_token": "nope!"}),
        400,
        field="page_token",
    )
    missing = "01NOSUCHAPP000000000000000"
    assert_error(api.get(f"/apps/{missing}/consents/OPT_OUT_ALL"), 404, "NOT_FOUND")
    assert_error(api.get(f"/apps/{missing}/consents/identities/+4670"), 404, "NOT_FOUND")
    # No history: an empty list, not a 404.
    response = api.get(f"/apps/{app_id}/consents/identities/+46700000001")
    assert response.json() == {"identity": {"identity": "+46700000001"}, "audit_records": []}


def test_another_projects_app_is_not_found(server: Server, api: httpx.Client) -> None:
    app_id = consent_app(api, "SMS")
    with server.client(server.other) as other:
        assert_error(other.get(f"/apps/{app_id}/consents/OPT_OUT_ALL"), 404)
        assert_error(
            other.post(
                "/optouts:register",
                json={"app_id": app_id, "recipient": identities(("SMS", msisdn()))},
            ),
            400,
            field="app_id",
        )


# --- enforcement on the send path ----------------------------------------------------------------


def test_an_opted_out_sms_identity_is_not_sent_to_and_fallback_continues(
    server: Server, api: httpx.Client
) -> None:
    app_id = consent_app(api, "SMS", "WHATSAPP")
    number = msisdn()
    opt_out(api, {"app_id": app_id, "channels": ["SMS"], "recipient": identities(("SMS", number))})
    wait_for_payloads(server, app_id, "opt_out_notification")

    only_sms = send(api, app_id, identities(("SMS", number)))
    failed = wait_for_status(server, app_id, only_sms, "FAILED")
    assert failed["reason"]["code"] == "RECIPIENT_NOT_OPTED_IN"
    assert failed["channel_identity"] == {"channel": "SMS", "identity": number, "app_id": ""}

    # WhatsApp's 24-hour window opens when the handset writes.
    handset_writes(server, "WHATSAPP", number, app_id, "hi")
    both = send(
        api,
        app_id,
        identities(("SMS", number), ("WHATSAPP", number)),
        channel_priority_order=["SMS", "WHATSAPP"],
    )
    switching = wait_for_status(server, app_id, both, "SWITCHING_CHANNEL")
    assert switching["reason"]["code"] == "RECIPIENT_NOT_OPTED_IN"
    queued = wait_for_status(server, app_id, both, "QUEUED_ON_CHANNEL")
    assert queued["channel_identity"]["channel"] == "WHATSAPP"
    assert received(server, "SMS", number) == []  # no native request reached the handset

    opt_in(api, {"app_id": app_id, "channels": ["SMS"], "recipient": identities(("SMS", number))})
    wait_for_payloads(server, app_id, "opt_in_notification")
    again = send(api, app_id, identities(("SMS", number)))
    wait_for_status(server, app_id, again, "QUEUED_ON_CHANNEL")
    wait_for(lambda: received(server, "SMS", number), what="the SMS after opting in")


def test_an_event_to_an_opted_out_identity_fails_until_it_opts_in(
    server: Server, api: httpx.Client
) -> None:
    app_id = consent_app(api, "RCS")
    number = msisdn()
    recipient = identities(("RCS", number))
    opt_out(api, {"app_id": app_id, "channels": ["RCS"], "recipient": recipient})
    wait_for_payloads(server, app_id, "opt_out_notification")

    def event_status(status: str) -> dict[str, Any]:
        response = api.post(
            "/events:send",
            json={"app_id": app_id, "recipient": recipient, "event": {"composing_event": {}}},
        )
        assert response.status_code == 200, response.text
        event_id = response.json()["event_id"]
        return wait_for(
            lambda: next(
                (
                    r
                    for r in payloads(server, app_id, "event_delivery_report")
                    if r["event_id"] == event_id and r["status"] in ("FAILED", status)
                ),
                None,
            ),
            what=f"a report of event {event_id}",
        )

    refused = event_status("FAILED")
    assert refused["status"] == "FAILED"
    assert refused["reason"]["code"] == "RECIPIENT_NOT_OPTED_IN"

    opt_in(api, {"app_id": app_id, "channels": ["RCS"], "recipient": recipient})
    wait_for_payloads(server, app_id, "opt_in_notification")
    assert event_status("QUEUED_ON_CHANNEL")["status"] == "QUEUED_ON_CHANNEL"


def test_stop_and_start_keywords_from_the_handset(server: Server, api: httpx.Client) -> None:
    app_id = consent_app(api, "SMS")
    number = msisdn()
    recipient = identities(("SMS", number))
    # An ordinary "yes" while not opted out changes nothing.
    handset_writes(server, "SMS", number, app_id, "yes")
    handset_writes(server, "SMS", number, app_id, "  Stop ")
    [notification] = wait_for_payloads(server, app_id, "opt_out_notification")
    inbound = payloads(server, app_id, "message")
    assert [m["contact_message"] for m in inbound] == [
        {"text_message": {"text": "yes"}},
        {"text_message": {"text": "  Stop "}},
    ]
    assert notification == channel_opt_out("SMS", number, inbound[1]["contact_id"])
    assert payloads(server, app_id, "opt_in_notification") == []
    assert listed(api, app_id) == [number]
    assert audit(api, app_id, number)[0]["origin"] == "ORIGIN_MO"

    refused = send(api, app_id, recipient)
    assert wait_for_status(server, app_id, refused, "FAILED")["reason"]["code"] == (
        "RECIPIENT_NOT_OPTED_IN"
    )
    assert received(server, "SMS", number) == []

    handset_writes(server, "SMS", number, app_id, "UNSTOP")
    [opted_in] = wait_for_payloads(server, app_id, "opt_in_notification")
    assert opted_in["status"] == "OPT_IN_SUCCEEDED" and opted_in["request_id"] == ""
    assert listed(api, app_id) == []
    assert [r["operation"] for r in audit(api, app_id, number)] == [
        "OPERATION_INSERT",
        "OPERATION_DELETE",
    ]
    delivered = send(api, app_id, recipient)
    wait_for_status(server, app_id, delivered, "QUEUED_ON_CHANNEL")
    wait_for(lambda: received(server, "SMS", number), what="the SMS after START")


@pytest.fixture(scope="module")
def keywords_off(server: Server) -> Any:
    with dedicated_server(server.backend, CHORUS_SMS_STOP_KEYWORDS="off") as dedicated:
        yield dedicated


def test_stop_keywords_can_be_turned_off(keywords_off: Any) -> None:
    with keywords_off.api() as api:
        app_id = consent_app(api, "SMS")
        number = msisdn()
        with httpx.Client(base_url=f"{keywords_off.url}/simulator/v1", timeout=30) as sim:
            response = sim.post(
                f"/handsets/sms/{number}/messages",
                json={"app_id": app_id, "text_message": {"text": "STOP"}},
            )
        assert response.json()["status_code"] == 200, response.text
        assert listed(api, app_id) == []


# --- VIBERBM and Viber report consent themselves -------------------------------------------------


def post_viberbm(server: Server, app_id: str, event: dict[str, Any]) -> None:
    body = json.dumps(event).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    response = httpx.post(
        f"{server.url}/inbound/viberbm/{app_id}",
        content=body,
        headers={"content-type": "application/json", "x-chorus-signature": signature},
    )
    assert response.status_code == 200, response.text


def test_viberbm_opt_out_and_opt_in_update_the_lists_and_the_send_path(
    server: Server, api: httpx.Client
) -> None:
    app_id = consent_app(api, "VIBERBM")
    number = msisdn()
    recipient = identities(("VIBERBM", number))
    post_viberbm(server, app_id, {"type": "opt_out", "service_id": "S", "sender": f"+{number}"})
    [notification] = wait_for_payloads(server, app_id, "opt_out_notification")
    assert notification == channel_opt_out("VIBERBM", number)
    assert listed(api, app_id) == [number]
    refused = send(api, app_id, recipient)
    assert wait_for_status(server, app_id, refused, "FAILED")["reason"]["code"] == (
        "RECIPIENT_NOT_OPTED_IN"
    )
    assert received(server, "VIBERBM", number) == []

    post_viberbm(server, app_id, {"type": "opt_in", "service_id": "S", "sender": number})
    [opted_in] = wait_for_payloads(server, app_id, "opt_in_notification")
    assert opted_in["status"] == "OPT_IN_SUCCEEDED"
    assert listed(api, app_id) == []
    sent = send(api, app_id, recipient)
    wait_for_status(server, app_id, sent, "QUEUED_ON_CHANNEL")


def test_viberbm_marketing_opt_out_refuses_marketing_only(
    server: Server, api: httpx.Client
) -> None:
    app_id = consent_app(api, "VIBERBM")
    number = msisdn()
    recipient = identities(("VIBERBM", number))
    post_viberbm(
        server, app_id, {"type": "opt_out", "sender": number, "list_type": "OPT_OUT_MARKETING"}
    )
    wait_for_payloads(server, app_id, "opt_out_notification")
    assert listed(api, app_id, "OPT_OUT_MARKETING") == [number]
    assert listed(api, app_id) == []
    marketing = send(api, app_id, recipient, message_content_type="CONTENT_MARKETING")
    failed = wait_for_status(server, app_id, marketing, "FAILED")
    assert failed["reason"]["code"] == "RECIPIENT_NOT_OPTED_IN"
    notice = send(api, app_id, recipient, message_content_type="CONTENT_NOTIFICATION")
    wait_for_status(server, app_id, notice, "QUEUED_ON_CHANNEL")


def test_viber_subscriptions_are_consent_and_capability(server: Server, api: httpx.Client) -> None:
    app = api.post(
        "/apps",
        json={
            "display_name": "viber",
            "channel_credentials": [{"channel": "VIBER", "static_token": {"token": "vtok-c"}}],
        },
    ).json()
    app_id = app["id"]
    hook = api.post(
        "/webhooks",
        json={
            "app_id": app_id,
            "target": "http://127.0.0.1:9/unused",
            "target_type": "DISMISS",
            "triggers": ["OPT_IN", "OPT_OUT", "CAPABILITY", "CONTACT_CREATE"],
        },
    )
    assert hook.status_code == 200, hook.text
    user = f"vU{int(time.time() * 1000)}abcdEF=="

    def post(event: dict[str, Any]) -> None:
        body = json.dumps(event).encode()
        signature = hmac.new(b"vtok-c", body, hashlib.sha256).hexdigest()
        response = httpx.post(
            f"{server.url}/inbound/viber/{app_id}",
            content=body,
            headers={"content-type": "application/json", "x-viber-content-signature": signature},
        )
        assert response.status_code == 200, response.text

    def capability(count: int) -> dict[str, Any]:
        response = api.post(
            "/capability:query",
            json={
                "app_id": app_id,
                "recipient": identities(("VIBER", user)),
            },
        )
        assert response.status_code == 200, response.text
        return wait_for_payloads(server, app_id, "capability_notification", count)[-1]

    post({"event": "subscribed", "timestamp": 1, "user": {"id": user, "name": "Jane"}})
    [subscribed] = wait_for_payloads(server, app_id, "opt_in_notification")
    assert subscribed["status"] == "OPT_IN_SUCCEEDED" and subscribed["channel"] == "VIBER"
    assert subscribed["contact_id"]  # the identity was learned: its contact exists
    assert capability(1)["capability_status"] == "CAPABILITY_FULL"

    post({"event": "unsubscribed", "timestamp": 2, "user_id": user})
    [unsubscribed] = wait_for_payloads(server, app_id, "opt_out_notification")
    assert unsubscribed["status"] == "OPT_OUT_SUCCEEDED"
    assert unsubscribed["contact_id"] == subscribed["contact_id"]
    assert listed(api, app_id) == [user]
    answer = capability(2)
    assert answer["capability_status"] == "NO_CAPABILITY"
    assert answer["reason"]["code"] == "RECIPIENT_NOT_OPTED_IN"


def test_python_sdk_marketing_send_to_a_marketing_opt_out_is_refused(
    server: Server, api: httpx.Client, sinch: SinchClient
) -> None:
    """The Python SDK (sinch 2.3.0) has no consent methods; its sends carry
    message_content_type, which VIBERBM's consent rule reads."""
    app_id = consent_app(api, "VIBERBM")
    number = msisdn()
    post_viberbm(
        server, app_id, {"type": "opt_out", "sender": number, "list_type": "OPT_OUT_MARKETING"}
    )
    wait_for_payloads(server, app_id, "opt_out_notification")
    sent = sinch.conversation.messages.send_text_message(
        app_id=app_id,
        text="20% off today",
        recipient_identities=[{"channel": "VIBERBM", "identity": number}],
        message_content_type="CONTENT_MARKETING",
    )
    failed = wait_for_status(server, app_id, sent.message_id, "FAILED")
    assert failed["reason"]["code"] == "RECIPIENT_NOT_OPTED_IN"
    assert received(server, "VIBERBM", number) == []
