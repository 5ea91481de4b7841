"""`capability:query` (API.md Part B §6.1, §8.3; CHANNELS.md §1.8, §2.8, §3.8, part 2 §1.8,
§2.8, §3.8): answered at once, then one capability_notification per (channel, identity),
each channel answering by its own rule — RCS by asking the simulated RBM, which answers from
the handset's `capability` setting."""

import re
from typing import Any

import httpx
import pytest

from tests.callbacks.receiver import Receiver
from tests.conftest import Server
from tests.integration.consent_helpers import (
    consent_app,
    handset_writes,
    identities,
    msisdn,
    set_handset,
    wait_for_payloads,
)
from tests.integration.helpers import assert_error, wait_for
from tests.integration.pipeline_helpers import Hook, signed_for_python_sdk

ULID = re.compile(r"^[0-9A-Z]{26}$")
RCS_FEATURES = {
    "RICHCARD_STANDALONE",
    "RICHCARD_CAROUSEL",
    "ACTION_CREATE_CALENDAR_EVENT",
    "ACTION_DIAL",
    "ACTION_OPEN_URL",
    "ACTION_SHARE_LOCATION",
    "ACTION_VIEW_LOCATION",
}


def query(api: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/capability:query", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def answers(server: Server, app_id: str, request_id: str, count: int = 1) -> list[dict[str, Any]]:
    found = wait_for_payloads(server, app_id, "capability_notification", count)
    return [p for p in found if p["request_id"] == request_id]


def ask(server: Server, api: httpx.Client, app_id: str, *pairs: tuple[str, str]) -> Any:
    """Query the pairs and wait for their notifications (by channel)."""
    before = len([c for c in server.recorded_callbacks(app_id) if "capability_notification" in c])
    answer = query(api, {"app_id": app_id, "recipient": identities(*pairs)})
    found = answers(server, app_id, answer["request_id"], before + len(pairs))
    return {p["channel"]: p for p in found}


def test_capability_query_refuses_bad_requests_naming_the_field(api: httpx.Client) -> None:
    app_id = consent_app(api, "SMS")
    recipient = identities(("SMS", msisdn()))
    for body, field in (
        ({"recipient": recipient}, "app_id"),
        ({"app_id": "", "recipient": recipient}, "app_id"),
        ({"app_id": "01NOSUCHAPP000000000000000", "recipient": recipient}, "app_id"),
        ({"app_id": app_id}, "recipient"),
        ({"app_id": app_id, "recipient": {}}, "recipient"),
        ({"app_id": app_id, "recipient": {**recipient, "contact_id": "c"}}, "recipient"),
        (
            {"app_id": app_id, "recipient": {"identified_by": {"channel_identities": []}}},
            "recipient.identified_by.channel_identities",
        ),
        (
            {"app_id": app_id, "recipient": identities(("PIGEON", "1"))},
            "recipient.identified_by.channel_identities[0].channel",
        ),
        (
            {"app_id": app_id, "recipient": identities(("SMS", ""))},
            "recipient.identified_by.channel_identities[0].identity",
        ),
        (
            {"app_id": app_id, "recipient": identities(("WHATSAPP", msisdn()))},
            "recipient.identified_by.channel_identities[0].channel",
        ),
    ):
        assert_error(api.post("/capability:query", json=body), 400, "INVALID_ARGUMENT", field=field)


def test_the_request_is_answered_at_once_and_echoed(server: Server, api: httpx.Client) -> None:
    app_id = consent_app(api, "SMS")
    recipient = identities(("SMS", "+46 70-123 45 67"))
    answer = query(api, {"app_id": app_id, "recipient": recipient, "project_id": "ignored"})
    assert set(answer) == {"app_id", "recipient", "request_id"}
    assert answer["app_id"] == app_id and answer["recipient"] == recipient
    assert ULID.match(answer["request_id"])
    given = query(api, {"app_id": app_id, "recipient": recipient, "request_id": "mine"})
    assert given["request_id"] == "mine"
    [notification] = answers(server, app_id, "mine", 2)
    assert notification == {
        "request_id": "mine",
        "contact_id": "",
        "channel": "SMS",
        "identity": "46701234567",
        "capability_status": "CAPABILITY_FULL",
    }
    body = next(
        c
        for c in server.recorded_callbacks(app_id)
        if c.get("capability_notification", {}).get("request_id") == "mine"
    )
    assert body["trigger"] == "CAPABILITY"
    assert set(body) == {
        "trigger",
        "app_id",
        "project_id",
        "accepted_time",
        "event_time",
        "capability_notification",
    }


def test_sms_and_viberbm_answer_from_the_number_alone(server: Server, api: httpx.Client) -> None:
    app_id = consent_app(api, "SMS", "VIBERBM")
    number = msisdn()
    found = ask(server, api, app_id, ("SMS", number), ("VIBERBM", "12ab"))
    assert found["SMS"]["capability_status"] == "CAPABILITY_FULL"
    assert found["VIBERBM"]["capability_status"] == "NO_CAPABILITY"
    assert found["VIBERBM"]["reason"]["code"] == "RECIPIENT_INVALID_CHANNEL_IDENTITY"
    assert "channel_capabilities" not in found["VIBERBM"]


@pytest.mark.parametrize(
    ("setting", "status", "features"),
    [
        ("CAPABILITY_FULL", "CAPABILITY_FULL", RCS_FEATURES),
        (
            "CAPABILITY_PARTIAL",
            "CAPABILITY_PARTIAL",
            {"RICHCARD_STANDALONE", "ACTION_DIAL", "ACTION_OPEN_URL"},
        ),
        ("NO_CAPABILITY", "NO_CAPABILITY", None),
    ],
)
def test_rcs_asks_rbm_which_answers_from_the_handset(
    server: Server,
    api: httpx.Client,
    setting: str,
    status: str,
    features: set[str] | None,
) -> None:
    app_id = consent_app(api, "RCS")
    number = msisdn()
    set_handset(server, "RCS", number, capability=setting)
    answer = ask(server, api, app_id, ("RCS", number))["RCS"]
    assert answer["capability_status"] == status
    if features is None:
        assert answer["reason"]["code"] == "RECIPIENT_NOT_REACHABLE"
        assert "channel_capabilities" not in answer
    else:
        assert set(answer["channel_capabilities"]) == features
        assert "reason" not in answer


def test_rcs_unknown_after_rbm_keeps_failing(server: Server, api: httpx.Client) -> None:
    app_id = consent_app(api, "RCS")
    number = msisdn()
    set_handset(server, "RCS", number, capability="CAPABILITY_UNKNOWN")  # RBM answers 503
    answer = ask(server, api, app_id, ("RCS", number))["RCS"]
    assert answer["capability_status"] == "CAPABILITY_UNKNOWN"
    assert answer["reason"]["code"] == "CHANNEL_FAILURE"


def test_whatsapp_answers_from_what_chorus_has_seen(server: Server, api: httpx.Client) -> None:
    app_id = consent_app(api, "WHATSAPP")
    number = msisdn()
    assert ask(server, api, app_id, ("WHATSAPP", number))["WHATSAPP"]["capability_status"] == (
        "CAPABILITY_UNKNOWN"
    )
    handset_writes(server, "WHATSAPP", number, app_id, "hi")
    assert ask(server, api, app_id, ("WHATSAPP", number))["WHATSAPP"]["capability_status"] == (
        "CAPABILITY_FULL"
    )
    bad = ask(server, api, app_id, ("WHATSAPP", "0123"))["WHATSAPP"]
    assert bad["capability_status"] == "NO_CAPABILITY"
    assert bad["reason"]["code"] == "RECIPIENT_INVALID_CHANNEL_IDENTITY"


def test_a_contact_is_looked_up_on_its_identities_the_app_can_use(
    server: Server, api: httpx.Client
) -> None:
    app_id = consent_app(api, "SMS", "RCS", "MESSENGER")
    other_app = consent_app(api, "MESSENGER")
    number = msisdn()
    contact = api.post(
        "/contacts",
        json={
            "display_name": "Capable",
            "channel_identities": [
                {"channel": "SMS", "identity": number},
                {"channel": "RCS", "identity": number},
                {"channel": "WHATSAPP", "identity": number},  # no credentials: not asked
                {"channel": "MESSENGER", "identity": "123456", "app_id": other_app},
            ],
        },
    )
    assert contact.status_code == 200, contact.text
    contact_id = contact.json()["id"]
    set_handset(server, "RCS", number, capability="CAPABILITY_FULL")
    answer = query(api, {"app_id": app_id, "recipient": {"contact_id": contact_id}})
    assert answer["recipient"] == {"contact_id": contact_id}
    found = {p["channel"]: p for p in answers(server, app_id, answer["request_id"], 3)}
    assert set(found) == {"SMS", "RCS", "MESSENGER"}
    assert {p["contact_id"] for p in found.values()} == {contact_id}
    assert found["SMS"]["capability_status"] == "CAPABILITY_FULL"
    assert found["RCS"]["capability_status"] == "CAPABILITY_FULL"
    # Its MESSENGER identity belongs to another app.
    assert found["MESSENGER"]["capability_status"] == "NO_CAPABILITY"
    assert found["MESSENGER"]["reason"]["code"] == "NO_CHANNEL_IDENTITY_FOR_CONTACT"


def test_an_unknown_contact_is_one_no_capability_notification(
    server: Server, api: httpx.Client
) -> None:
    app_id = consent_app(api, "SMS")
    answer = query(
        api, {"app_id": app_id, "recipient": {"contact_id": "01NOSUCHCONTACT0000000000"}}
    )
    [notification] = answers(server, app_id, answer["request_id"])
    assert notification["capability_status"] == "NO_CAPABILITY"
    assert notification["reason"]["code"] == "CONTACT_NOT_FOUND"
    assert "channel" not in notification and "identity" not in notification


def test_a_query_creates_no_contact(server: Server, api: httpx.Client) -> None:
    app_id = consent_app(api, "SMS")
    number = msisdn()
    ask(server, api, app_id, ("SMS", number))
    found = api.get("/contacts", params={"channel": "SMS", "identity": number}).json()
    assert found.get("contacts", []) == []
    assert server.query("SELECT id FROM conversations WHERE app_id = :a", a=app_id) == []


def test_a_webhook_on_capability_alone_receives_signed_capability_callbacks(
    server: Server, api: httpx.Client
) -> None:
    app_id = consent_app(api, "SMS")
    receiver = Receiver()
    try:
        hook = Hook(receiver, api)
        hook.attach(app_id, triggers=["CAPABILITY"])
        number = msisdn()
        answer = query(api, {"app_id": app_id, "recipient": identities(("SMS", number))})
        # Unrelated traffic of the app (an opt-out) does not reach this webhook.
        opted = api.post(
            "/optouts:register", json={"app_id": app_id, "recipient": identities(("SMS", number))}
        )
        assert opted.status_code == 200, opted.text
        [received] = wait_for(lambda: hook.received(app_id), what="the capability callback")
        body = received.json()
        assert body["capability_notification"]["request_id"] == answer["request_id"]
        assert body["capability_notification"]["capability_status"] == "CAPABILITY_FULL"
        assert received.headers.get("x-chorus-event-id")
        assert signed_for_python_sdk(received)
        wait_for_payloads(server, app_id, "opt_out_notification")
        assert len(hook.received(app_id)) == 1
    finally:
        receiver.close()
