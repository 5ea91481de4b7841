"""`POST /inbound/{channel}/{app_id}`: what it refuses, and what of that it keeps.

Refused requests about an app are kept in `inbound_requests` (listed by the extension API,
swept after 30 days); one naming no app of ours is not: anyone can post here."""

import base64
import json

import httpx
import pytest

from tests.conftest import Server
from tests.integration.helpers import recording_webhook, wait_for
from tests.integration.pipeline_helpers import msisdn, set_handset, sms_app, to_sms


def kept(server: Server, app_id: str) -> list[dict]:
    return server.query(
        "SELECT project_id, channel, outcome, detail FROM inbound_requests WHERE app_id = :a",
        a=app_id,
    )


def test_a_request_for_no_app_of_ours_is_refused_and_not_kept(server: Server) -> None:
    for app_id in ("01NOSUCHAPP0000000000000000", "a" * 300, "%C3%BC"):
        response = httpx.post(f"{server.url}/inbound/sms/{app_id}", content=b"")
        assert response.status_code == 404, response.text
        error = response.json()["error"]
        assert error["status"] == "NOT_FOUND" and "SMS credentials" in error["message"]
        assert kept(server, app_id) == []
    unknown = httpx.post(f"{server.url}/inbound/fax/01NOSUCHAPP0000000000000000", json={})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "no inbound endpoint for channel fax"


def test_a_request_for_a_channel_the_app_lacks_is_refused_and_kept(
    server: Server, api: httpx.Client
) -> None:
    app_id = sms_app(api)
    response = httpx.post(f"{server.url}/inbound/whatsapp/{app_id}", json={"entry": []})
    assert response.status_code == 404, response.text
    assert kept(server, app_id) == [
        {
            "project_id": server.project_id,
            "channel": "WHATSAPP",
            "outcome": "rejected",
            "detail": "the app has no WHATSAPP credential",
        }
    ]


@pytest.mark.parametrize("field", ["id", "from"])
def test_a_native_id_or_identity_no_channel_would_give_is_refused_and_kept(
    server: Server, api: httpx.Client, field: str
) -> None:
    """Wider than chorus keeps (256 characters): a 400 naming the field, never a 500."""
    app_id = sms_app(api)
    mo = {"type": "mo_text", "id": "01MO", "from": "46700000001", "to": "plan", "body": "hi"}
    mo[field] = "4" * 300
    response = httpx.post(f"{server.url}/inbound/sms/{app_id}", json=mo)
    assert response.status_code == 400, response.text
    name = {"id": "native_id", "from": "identity"}[field]
    assert response.json()["error"]["message"] == f"{name} is longer than 256 characters"
    assert [r["outcome"] for r in kept(server, app_id)] == ["rejected"]


def test_what_was_kept_is_listed_newest_first_by_outcome_and_page(
    server: Server, api: httpx.Client
) -> None:
    """`GET /chorus/v1/projects/{p}/apps/{app}/inbound-requests`: why a channel's webhooks
    do not arrive, without reading the database."""
    app_id = sms_app(api)
    refused = httpx.post(f"{server.url}/inbound/whatsapp/{app_id}", json={"first": 1})
    wide = {"type": "mo_text", "id": "4" * 300, "from": "46700000001", "to": "p", "body": "b"}
    too_wide = httpx.post(f"{server.url}/inbound/sms/{app_id}", json=wide)
    assert (refused.status_code, too_wide.status_code) == (404, 400)
    with server.client(prefix="/chorus/v1") as extension:
        listed = extension.get(f"/apps/{app_id}/inbound-requests")
        assert listed.status_code == 200, listed.text
        kept = listed.json()["inbound_requests"]
        assert [(r["channel"], r["outcome"], r["detail"]) for r in kept] == [
            ("SMS", "rejected", "native_id is longer than 256 characters"),
            ("WHATSAPP", "rejected", "the app has no WHATSAPP credential"),
        ]
        assert json.loads(kept[1]["body"]) == {"first": 1} and kept[1]["received_at"]
        assert listed.json()["next_page_token"] == ""

        first = extension.get(f"/apps/{app_id}/inbound-requests", params={"page_size": 1})
        token = first.json()["next_page_token"]
        assert [r["channel"] for r in first.json()["inbound_requests"]] == ["SMS"] and token
        second = extension.get(
            f"/apps/{app_id}/inbound-requests", params={"page_size": 1, "page_token": token}
        )
        assert [r["channel"] for r in second.json()["inbound_requests"]] == ["WHATSAPP"]

        ignored = extension.get(f"/apps/{app_id}/inbound-requests", params={"outcome": "ignored"})
        assert ignored.json()["inbound_requests"] == []
        wrong = extension.get(f"/apps/{app_id}/inbound-requests", params={"outcome": "lost"})
        assert wrong.status_code == 400
        violation = wrong.json()["error"]["details"][0]["field_violations"][0]
        assert violation["field"] == "outcome"
    with server.client(server.other, prefix="/chorus/v1") as other:
        assert other.get(f"/apps/{app_id}/inbound-requests").status_code == 404


def test_callbacks_of_channel_traffic_carry_the_channels_time_and_the_conversations_correlation(
    server: Server, api: httpx.Client
) -> None:
    """API.md Part B §8.1: `event_time` is when it happened on the channel (it was always
    chorus's own time); `correlation_id` is the latest stored for the conversation, on
    unsupported traffic too, which also names its conversation."""
    app_id = sms_app(api)
    recording_webhook(api, app_id)
    number = msisdn()
    set_handset(server, number, auto_deliver=False)  # the report below is the channel's only
    sent = api.post(
        "/messages:send",
        json={
            "app_id": app_id,
            "recipient": to_sms(number),
            "message": {"text_message": {"text": "hi"}},
            "correlation_id": "corr-7",
        },
    ).json()["message_id"]

    def triggered(trigger: str) -> list[dict]:
        return [c for c in server.recorded_callbacks(app_id) if c["trigger"] == trigger]

    submitted = wait_for(lambda: triggered("MESSAGE_SUBMIT"), what="MESSAGE_SUBMIT")
    conversation_id = submitted[0]["message_submit_notification"]["conversation_id"]
    [native_id] = [
        r["native_id"]
        for r in server.query(
            "SELECT native_id FROM channel_message_refs WHERE message_id = :m", m=sent
        )
    ]
    native = [
        {
            "type": "mo_text",
            "id": "MO-1",
            "from": number,
            "to": "plan",
            "body": "hello",
            "received_at": "2026-01-02T03:04:05.678Z",
        },
        {"type": "mo_binary", "id": "MO-2", "from": number, "to": "plan", "body": "AAE="},
        {
            "type": "recipient_delivery_report_sms",
            "batch_id": native_id,
            "recipient": number,
            "code": 0,
            "status": "Delivered",
            "at": "2026-01-02T03:04:06.5Z",
            "client_reference": sent,
        },
    ]
    for body in native:
        response = httpx.post(f"{server.url}/inbound/sms/{app_id}", json=body)
        assert response.status_code == 200, response.text

    inbound = wait_for(lambda: triggered("MESSAGE_INBOUND"), what="MESSAGE_INBOUND")[0]
    assert inbound["event_time"] == "2026-01-02T03:04:05.678000Z"
    assert inbound["correlation_id"] == "corr-7"
    unsupported = wait_for(lambda: triggered("UNSUPPORTED"), what="UNSUPPORTED")[0]
    assert unsupported["correlation_id"] == "corr-7"
    assert unsupported["unsupported_callback"]["conversation_id"] == conversation_id
    assert unsupported["event_time"] == unsupported["accepted_time"]  # SMS gives no time
    delivered = wait_for(
        lambda: [
            c
            for c in triggered("MESSAGE_DELIVERY")
            if c["message_delivery_report"]["status"] == "DELIVERED"
        ],
        what="DELIVERED",
    )[0]
    assert delivered["event_time"] == "2026-01-02T03:04:06.500000Z"
    assert delivered["accepted_time"] > delivered["event_time"]


def test_contact_messages_without_the_channels_id_are_each_kept(
    server: Server, api: httpx.Client
) -> None:
    """No id to tell them apart: none is dropped as a repeat of another (the second was)."""
    app_id = sms_app(api)
    sender = msisdn()
    for body in ("hello1", "hello2"):
        mo = {"type": "mo_text", "from": sender, "to": "plan", "body": body}
        assert httpx.post(f"{server.url}/inbound/sms/{app_id}", json=mo).status_code == 200

    def received() -> list[str]:
        rows = server.query(
            "SELECT contact_message FROM messages WHERE app_id = :a AND direction = 'TO_APP'",
            a=app_id,
        )
        found = [row["contact_message"] for row in rows]
        return [(json.loads(m) if isinstance(m, str) else m)["text_message"]["text"] for m in found]

    bodies = sorted(received())
    assert bodies == ["hello1", "hello2"]


def test_an_undated_report_about_an_unknown_send_is_ignored_not_asked_for_again(
    server: Server, api: httpx.Client
) -> None:
    """A report may overtake its send's record, so a recent one is asked for again (503);
    one without a time could never stop being recent: it is kept as ignored."""
    app_id = sms_app(api)
    report = {
        "type": "recipient_delivery_report_sms",
        "batch_id": "UNKNOWNBATCH",
        "recipient": msisdn(),
        "status": "Delivered",
        "code": 0,
    }
    response = httpx.post(f"{server.url}/inbound/sms/{app_id}", json=report)
    assert response.status_code == 200, response.text
    assert kept(server, app_id)[-1]["outcome"] == "ignored"


def test_a_body_nested_past_reason_is_refused_before_the_signature_is_checked(
    server: Server, api: httpx.Client
) -> None:
    """RCS verifies what the body holds: reading it was outside the parsers' net (a 500)."""
    app_id = sms_app(api, "RCS")  # its agent: "agent"
    nested = b"[" * 100_000 + b"]" * 100_000
    response = httpx.post(f"{server.url}/inbound/rcs/{app_id}", content=nested)
    assert response.status_code == 400, response.text


def test_another_agents_event_is_ignored_and_kept_not_refused(
    server: Server, api: httpx.Client
) -> None:
    """RCS §3.7: recorded as ignored, answered 200 (a 403 had RBM retry it for days), and no
    callback reaches the app."""
    app_id = sms_app(api, "RCS")  # its agent: "agent"
    event = {"senderPhoneNumber": msisdn(), "messageId": "M1", "agentId": "other", "text": "hi"}
    data = base64.b64encode(json.dumps(event).encode()).decode()
    response = httpx.post(f"{server.url}/inbound/rcs/{app_id}", json={"message": {"data": data}})
    assert response.status_code == 200, response.text
    assert kept(server, app_id)[-1]["outcome"] == "ignored"
    assert server.query("SELECT id FROM messages WHERE app_id = :a", a=app_id) == []
