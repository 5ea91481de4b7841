"""The messages endpoints (API.md Part B §2): up-front validation of `messages:send`, the
rate limits of Decision 9, the message store (list, get, update, delete,
fetch-last-message, through the official Python SDK where it has the method), recent
conversations' last_message, and the conversation inject-message / inject-event endpoints
(Part A §5.6, §5.7)."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sinch import SinchClient
from sinch.domains.conversation.api.v1.exceptions import ConversationException

from tests.callbacks.receiver import Receiver
from tests.conftest import BACKENDS, Server
from tests.integration.helpers import assert_error
from tests.integration.pipeline_helpers import (
    Hook,
    dedicated_server,
    handset_writes,
    msisdn,
    send,
    sms_app,
    to_sms,
)

TEXT = {"text_message": {"text": "Hello"}}


@pytest.fixture
def hook(api: httpx.Client) -> Iterator[Hook]:
    receiver = Receiver()
    yield Hook(receiver, api)
    receiver.close()


@pytest.fixture(scope="module")
def sms_only_app(server: Server) -> str:
    with server.client() as api:
        return sms_app(api)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------- up-front validation

LONG = "x" * 1025

# (what is wrong, changes to a valid request, the field the 400 names)
INVALID_SENDS: list[tuple[str, dict[str, Any], str]] = [
    # 1. wrong JSON types
    ("app_id not a string", {"app_id": 5}, "app_id"),
    ("message not an object", {"message": "hi"}, "message"),
    # 2. missing or unknown required fields
    ("no app_id", {"app_id": None}, "app_id"),
    ("no recipient", {"recipient": None}, "recipient"),
    ("no message", {"message": None}, "message"),
    ("unknown app", {"app_id": "01UNKNOWNAPP0000000000000A"}, "app_id"),
    # 3. recipient
    ("both recipients", {"recipient": {"contact_id": "C", **to_sms("46700000001")}}, "recipient"),
    ("no recipient kind", {"recipient": {}}, "recipient"),
    (
        "empty identity list",
        {"recipient": {"identified_by": {"channel_identities": []}}},
        "recipient.identified_by.channel_identities",
    ),
    (
        "empty identity",
        {"recipient": to_sms("")},
        "recipient.identified_by.channel_identities[0].identity",
    ),
    (
        "unknown channel",
        {
            "recipient": {
                "identified_by": {"channel_identities": [{"channel": "PIGEON", "identity": "1"}]}
            }
        },
        "recipient.identified_by.channel_identities[0].channel",
    ),
    (
        "unspecified channel",
        {
            "recipient": {
                "identified_by": {
                    "channel_identities": [{"channel": "CHANNEL_UNSPECIFIED", "identity": "1"}]
                }
            }
        },
        "recipient.identified_by.channel_identities[0].channel",
    ),
    # 4. message content
    ("no content kind", {"message": {}}, "message"),
    (
        "two content kinds",
        {"message": {**TEXT, "media_message": {"url": "https://e.com/a.png"}}},
        "message",
    ),
    ("text without text", {"message": {"text_message": {}}}, "message.text_message.text"),
    ("empty text", {"message": {"text_message": {"text": ""}}}, "message.text_message.text"),
    (
        "text over 4096",
        {"message": {"text_message": {"text": "z" * 4097}}},
        "message.text_message.text",
    ),
    ("media without url", {"message": {"media_message": {}}}, "message.media_message.url"),
    (
        "location without title",
        {"message": {"location_message": {"coordinates": {"latitude": 1, "longitude": 2}}}},
        "message.location_message.title",
    ),
    (
        "location out of range",
        {
            "message": {
                "location_message": {
                    "coordinates": {"latitude": 91, "longitude": 2},
                    "title": "t",
                }
            }
        },
        "message.location_message.coordinates.latitude",
    ),
    (
        "a boolean for a coordinate",
        {
            "message": {
                "location_message": {
                    "coordinates": {"latitude": 1, "longitude": True},
                    "title": "t",
                }
            }
        },
        "message.location_message.coordinates.longitude",
    ),
    (
        "choice without choices",
        {"message": {"choice_message": {"text_message": {"text": "?"}}}},
        "message.choice_message.choices",
    ),
    (
        "eleven choices",
        {"message": {"choice_message": {"choices": [{"text_message": {"text": "c"}}] * 11}}},
        "message.choice_message.choices",
    ),
    (
        "a choice with two kinds",
        {
            "message": {
                "choice_message": {
                    "choices": [
                        {
                            "text_message": {"text": "a"},
                            "url_message": {"title": "b", "url": "https://e.com"},
                        }
                    ]
                }
            }
        },
        "message.choice_message.choices[0]",
    ),
    (
        "carousel without cards",
        {"message": {"carousel_message": {"cards": []}}},
        "message.carousel_message.cards",
    ),
    (
        "list without sections",
        {"message": {"list_message": {"title": "t"}}},
        "message.list_message.sections",
    ),
    (
        "contact info without phone numbers",
        {"message": {"contact_info_message": {"name": {"full_name": "A"}}}},
        "message.contact_info_message.phone_numbers",
    ),
    (
        "contact info without full name",
        {
            "message": {
                "contact_info_message": {"name": {}, "phone_numbers": [{"phone_number": "+1"}]}
            }
        },
        "message.contact_info_message.name.full_name",
    ),
    (
        "template without a reference",
        {"message": {"template_message": {}}},
        "message.template_message",
    ),
    # 5. channel-keyed modifiers
    (
        "unknown channel in explicit_channel_message",
        {"message": {**TEXT, "explicit_channel_message": {"PIGEON": "x"}}},
        "message.explicit_channel_message.PIGEON",
    ),
    (
        "explicit WhatsApp payload that is not JSON",
        {"message": {**TEXT, "explicit_channel_message": {"WHATSAPP": "not json"}}},
        "message.explicit_channel_message",
    ),
    # 6. channels without credentials
    (
        "priority channel without credentials",
        {"channel_priority_order": ["WHATSAPP"]},
        "channel_priority_order[0]",
    ),
    (
        "identity on a channel without credentials",
        {
            "recipient": {
                "identified_by": {
                    "channel_identities": [{"channel": "WHATSAPP", "identity": "46700000001"}]
                }
            }
        },
        "recipient.identified_by.channel_identities[0].channel",
    ),
    # 7. lengths and channel properties
    ("long message_metadata", {"message_metadata": LONG}, "message_metadata"),
    ("long correlation_id", {"correlation_id": "c" * 129}, "correlation_id"),
    (
        "long conversation_metadata",
        {"conversation_metadata": {"k": "v" * 2100}},
        "conversation_metadata",
    ),
    ("conversation_metadata a number", {"conversation_metadata": 5}, "conversation_metadata"),
    ("long channel property", {"channel_properties": {"SMS_SENDER": LONG}}, "channel_properties"),
    (
        "non-boolean SMS_FLASH_MESSAGE",
        {"channel_properties": {"SMS_FLASH_MESSAGE": "maybe"}},
        "channel_properties.SMS_FLASH_MESSAGE",
    ),
    (
        "SMS_MAX_NUMBER_OF_MESSAGE_PARTS not a positive integer",
        {"channel_properties": {"SMS_MAX_NUMBER_OF_MESSAGE_PARTS": "0"}},
        "channel_properties.SMS_MAX_NUMBER_OF_MESSAGE_PARTS",
    ),
    (
        "SMS_MAX_NUMBER_OF_MESSAGE_PARTS a superscript digit",
        {"channel_properties": {"SMS_MAX_NUMBER_OF_MESSAGE_PARTS": "²"}},
        "channel_properties.SMS_MAX_NUMBER_OF_MESSAGE_PARTS",
    ),
    (
        "SMS_MAX_NUMBER_OF_MESSAGE_PARTS beyond 32 bits",
        {"channel_properties": {"SMS_MAX_NUMBER_OF_MESSAGE_PARTS": "2147483648"}},
        "channel_properties.SMS_MAX_NUMBER_OF_MESSAGE_PARTS",
    ),
    (
        "MESSENGER_MESSAGE_TAG with a messaging type other than MESSAGE_TAG",
        {
            "channel_properties": {
                "MESSENGER_MESSAGE_TAG": "HUMAN_AGENT",
                "MESSENGER_MESSAGING_TYPE": "RESPONSE",
            }
        },
        "channel_properties.MESSENGER_MESSAGING_TYPE",
    ),
    # 8. enums
    ("bad queue", {"queue": "URGENT"}, "queue"),
    ("bad processing_strategy", {"processing_strategy": "LATER"}, "processing_strategy"),
    (
        "bad metadata strategy",
        {"conversation_metadata_update_strategy": "APPEND"},
        "conversation_metadata_update_strategy",
    ),
    ("bad message_content_type", {"message_content_type": "SPAM"}, "message_content_type"),
    # 9. ttl
    ("ttl below 3 s", {"ttl": "2s"}, "ttl"),
    ("ttl malformed", {"ttl": "ten seconds"}, "ttl"),
    ("ttl negative", {"ttl": "-5s"}, "ttl"),
    ("ttl above the maximum", {"ttl": "315576000001s"}, "ttl"),
    # 10. DISPATCH with a contact id
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
    ("changes", "field"),
    [pytest.param(c, f, id=what) for what, c, f in INVALID_SENDS],
)
def test_an_invalid_send_is_400_naming_the_field(
    api: httpx.Client, sms_only_app: str, changes: dict[str, Any], field: str
) -> None:
    body = {"app_id": sms_only_app, "recipient": to_sms(msisdn()), "message": TEXT}
    body.update(changes)
    body = {k: v for k, v in body.items() if v is not None}
    assert_error(api.post("/messages:send", json=body), 400, "INVALID_ARGUMENT", field=field)


def test_a_body_that_is_not_a_json_object_is_400(api: httpx.Client) -> None:
    assert_error(api.post("/messages:send", json=[1, 2]), 400, "INVALID_ARGUMENT")
    assert_error(
        api.post(
            "/messages:send", content=b"{not json", headers={"content-type": "application/json"}
        ),
        400,
        "INVALID_ARGUMENT",
    )


def test_refused_sends_store_nothing_and_call_nothing(api: httpx.Client, hook: Hook) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    for changes, _ in [(c, f) for _, c, f in INVALID_SENDS if "app_id" not in c][:12]:
        body = {"app_id": app_id, "recipient": to_sms(msisdn()), "message": TEXT, **changes}
        body = {k: v for k, v in body.items() if v is not None}
        assert api.post("/messages:send", json=body).status_code == 400
    accepted = send(api, app_id, TEXT, to_sms(msisdn()))
    hook.wait_for_status(app_id, accepted, "DELIVERED")
    listed = api.get("/messages", params={"app_id": app_id}).json()["messages"]
    assert [m["id"] for m in listed] == [accepted]
    about_others = [
        b
        for b in hook.bodies(app_id)
        if (b.get("message_delivery_report") or b.get("message_submit_notification") or {}).get(
            "message_id", accepted
        )
        != accepted
    ]
    assert about_others == []


def test_a_template_message_is_accepted_and_resolved_later(
    api: httpx.Client, sms_only_app: str
) -> None:
    """Template lookup is deferred (API.md Part B §2.2): an unknown template is still a 200;
    tests/integration/test_template_messages.py follows it to its FAILED report."""
    body = {
        "app_id": sms_only_app,
        "recipient": to_sms(msisdn()),
        "message": {"template_message": {"omni_template": {"template_id": "T", "version": "1"}}},
    }
    response = api.post("/messages:send", json=body)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"message_id", "accepted_time"}


def test_a_contact_id_is_refused_for_a_dispatch_mode_app(api: httpx.Client) -> None:
    app_id = sms_app(api, processing_mode="DISPATCH")
    body = {
        "app_id": app_id,
        "recipient": {"contact_id": "01CONTACT0000000000000000A"},
        "message": TEXT,
    }
    assert_error(
        api.post("/messages:send", json=body), 400, "INVALID_ARGUMENT", field="recipient.contact_id"
    )


@pytest.mark.parametrize("ttl", ["3s", "10", 10, "3.5s", "86400s", "315576000000s"])
def test_every_accepted_ttl_form(api: httpx.Client, sms_only_app: str, ttl: Any) -> None:
    body = {"app_id": sms_only_app, "recipient": to_sms(msisdn()), "message": TEXT, "ttl": ttl}
    response = api.post("/messages:send", json=body)
    assert response.status_code == 200, response.text


def test_the_python_sdk_reports_a_refused_send(sinch: SinchClient, sms_only_app: str) -> None:
    with pytest.raises(ConversationException) as raised:
        sinch.conversation.messages.send_text_message(
            app_id=sms_only_app,
            text="hi",
            recipient_identities=[{"channel": "SMS", "identity": msisdn()}],
            channel_properties={"SMS_FLASH_MESSAGE": "sometimes"},
        )
    assert "INVALID_ARGUMENT" in str(raised.value)
    assert "SMS_FLASH_MESSAGE" in str(raised.value)


# ---------------------------------------------------------------- rate limits


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_full_app_queue_is_429_resource_exhausted_with_retry_after(backend: str) -> None:
    """Workers off, so nothing drains: the app's queue cap (3) is reached by the 4th send."""
    with (
        dedicated_server(backend, CHORUS_RUN_WORKERS="false", CHORUS_APP_QUEUE_LIMIT="3") as chorus,
        chorus.api() as api,
    ):
        full_app = sms_app(api)
        for _ in range(3):
            send(api, full_app, TEXT, to_sms(msisdn()))
        body = {"app_id": full_app, "recipient": to_sms(msisdn()), "message": TEXT}
        refused = api.post("/messages:send", json=body)
        assert_error(refused, 429, "RESOURCE_EXHAUSTED")
        assert int(refused.headers["retry-after"]) >= 1
        stats = api.get(f"/apps/{full_app}").json()["queue_stats"]
        assert stats == {"outbound_size": 3, "outbound_limit": 3}
        # The cap is per app: another app of the project still sends.
        send(api, sms_app(api), TEXT, to_sms(msisdn()))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_burst_over_the_project_request_rate_gets_429_with_retry_info(backend: str) -> None:
    with (
        dedicated_server(backend, CHORUS_PROJECT_REQUEST_RATE="5") as chorus,
        chorus.api() as api,
        ThreadPoolExecutor(8) as pool,
    ):
        answers = list(pool.map(lambda _: api.get("/apps"), range(40)))
    refused = [a for a in answers if a.status_code == 429]
    assert refused, [a.status_code for a in answers]
    assert {a.status_code for a in answers} <= {200, 429}
    error = assert_error(refused[0], 429, "RESOURCE_EXHAUSTED")
    assert any(d.get("@type", "").endswith("google.rpc.RetryInfo") for d in error["details"]), error
    assert int(refused[0].headers["retry-after"]) >= 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_token_requests_count_against_the_project_request_rate(backend: str) -> None:
    """API.md §1.4: the token endpoint is rate limited too, in OAuth2's own error shape (the
    SDKs read `error_description`; the Node SDK retries after `Retry-After`)."""
    with dedicated_server(backend, CHORUS_PROJECT_REQUEST_RATE="5") as chorus:
        credentials = (chorus.credentials.key_id, chorus.credentials.key_secret)

        def fetch(_: int) -> httpx.Response:
            return httpx.post(
                f"{chorus.url}/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=credentials,
            )

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(fetch, range(40)))
    refused = [a for a in answers if a.status_code == 429]
    assert refused, [a.status_code for a in answers]
    assert {a.status_code for a in answers} <= {200, 429}
    body = refused[0].json()
    assert body["error"] == "temporarily_unavailable", body
    assert "request rate" in body["error_description"]
    assert int(refused[0].headers["retry-after"]) >= 1


# ---------------------------------------------------------------- the message store


@pytest.fixture
def history(server: Server, api: httpx.Client, hook: Hook) -> dict[str, Any]:
    """One app, one contact (by SMS identity), five outbound messages with metadata and one
    reply, all dispatched; and a second contact with one message."""
    app_id = sms_app(api)
    hook.attach(app_id)
    number, other_number = msisdn(), msisdn()
    outbound = []
    for i in range(5):
        outbound.append(
            send(
                api,
                app_id,
                {"text_message": {"text": f"m{i}"}},
                to_sms(number),
                message_metadata=f"meta{i}",
            )
        )
        if i == 0:
            # The contact and conversation exist before the rest are sent (the concurrent
            # first sends have a test of their own in test_send_pipeline.py).
            hook.wait_for_status(app_id, outbound[0], "DELIVERED")
    other = send(api, app_id, TEXT, to_sms(other_number))
    for message_id in [*outbound, other]:
        hook.wait_for_status(app_id, message_id, "DELIVERED")
    handset_writes(server, number, app_id, "reply")
    reply = hook.wait_for_inbound(app_id)["message"]
    first = hook.wait_for_status(app_id, outbound[0], "DELIVERED")["message_delivery_report"]
    second = hook.wait_for_status(app_id, other, "DELIVERED")["message_delivery_report"]
    return {
        "app_id": app_id,
        "number": number,
        "other_number": other_number,
        "outbound": outbound,
        "other": other,
        "reply": reply["id"],
        "contact_id": first["contact_id"],
        "conversation_id": first["conversation_id"],
        "other_contact_id": second["contact_id"],
    }


def listed_ids(api: httpx.Client, **params: Any) -> list[str]:
    response = api.get("/messages", params=params)
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["messages"]]


def test_list_pages_newest_first_across_pages(api: httpx.Client, history: dict[str, Any]) -> None:
    everything = [history["reply"], history["other"], *reversed(history["outbound"])]
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        params = {"app_id": history["app_id"], "page_size": 3}
        if token:
            params["page_token"] = token
        page = api.get("/messages", params=params).json()
        seen += [m["id"] for m in page["messages"]]
        pages += 1
        token = page["next_page_token"]
        if not token:
            break
        assert len(page["messages"]) == 3
    assert pages == 3
    assert seen == everything
    accept_times = [api.get(f"/messages/{i}").json()["accept_time"] for i in seen]
    assert accept_times == sorted(accept_times, reverse=True)


def test_list_filters(api: httpx.Client, history: dict[str, Any]) -> None:
    h = history
    outbound_desc = list(reversed(h["outbound"]))
    assert listed_ids(api, conversation_id=h["conversation_id"]) == [h["reply"], *outbound_desc]
    assert listed_ids(api, contact_id=h["other_contact_id"]) == [h["other"]]
    # An empty value is no filter (proto3 clients send "" for a string they did not set).
    assert listed_ids(api, contact_id=h["other_contact_id"], app_id="", channel_identity="") == [
        h["other"]
    ]
    assert listed_ids(api, app_id=h["app_id"], channel_identity=h["other_number"]) == [h["other"]]
    # As the caller wrote it: E.164 with its "+" (raw in the query, as API.md §2.1 reads it).
    for written in (f"+{h['other_number']}", f"00{h['other_number']}"):
        assert listed_ids(api, app_id=h["app_id"], channel_identity=written) == [h["other"]]
        assert listed_ids(api, channel_identity=written, channel="SMS") == [h["other"]]
    assert listed_ids(api, app_id=h["app_id"], direction="TO_APP") == [h["reply"]]
    assert listed_ids(api, app_id=h["app_id"], only_recipient_originated="True") == [h["reply"]]
    assert listed_ids(api, app_id=h["app_id"], only_recipient_originated="true") == [h["reply"]]
    assert listed_ids(api, app_id=h["app_id"], direction="TO_CONTACT", page_size=20) == [
        h["other"],
        *outbound_desc,
    ]
    assert listed_ids(api, app_id=h["app_id"], channel="SMS", page_size=20)[0] == h["reply"]
    assert listed_ids(api, app_id=h["app_id"], channel="WHATSAPP") == []

    # start_time inclusive, end_time exclusive, on accept_time.
    times = {i: api.get(f"/messages/{i}").json()["accept_time"] for i in h["outbound"]}
    window = listed_ids(
        api,
        app_id=h["app_id"],
        start_time=times[h["outbound"][1]],
        end_time=times[h["outbound"][3]],
    )
    assert window == [h["outbound"][2], h["outbound"][1]]


def test_list_without_metadata_omits_it(api: httpx.Client, history: dict[str, Any]) -> None:
    with_metadata = api.get("/messages", params={"conversation_id": history["conversation_id"]})
    assert {m["metadata"] for m in with_metadata.json()["messages"][1:]} == {
        f"meta{i}" for i in range(5)
    }
    without = api.get(
        "/messages",
        params={"conversation_id": history["conversation_id"], "view": "WITHOUT_METADATA"},
    ).json()["messages"]
    assert without and all("metadata" not in m for m in without)


def test_list_parameter_errors(api: httpx.Client) -> None:
    assert_error(api.get("/messages", params={"page_size": 1001}), 400, "INVALID_ARGUMENT")
    assert_error(api.get("/messages", params={"page_token": "garbage!"}), 400, "INVALID_ARGUMENT")
    assert_error(
        api.get("/messages", params={"contact_id": "C", "messages_source": "DISPATCH_SOURCE"}),
        400,
        "INVALID_ARGUMENT",
    )
    assert_error(api.get("/messages", params={"direction": "SIDEWAYS"}), 400, "INVALID_ARGUMENT")
    assert_error(api.get("/messages", params={"start_time": "yesterday"}), 400, "INVALID_ARGUMENT")
    # Well-formed, but out of the range of dates in UTC (a 500 before).
    for name, moment in (
        ("start_time", "0001-01-01T00:00:00+14:00"),
        ("end_time", "9999-12-31T23:59:59-14:00"),
    ):
        assert_error(api.get("/messages", params={name: moment}), 400, field=name)
        assert_error(
            api.post(
                "/messages:fetch-last-message",
                json={"channel_identities": ["46700000000"], name: moment},
            ),
            400,
            field=name,
        )
    assert_error(
        api.get(
            "/messages", params={"only_recipient_originated": "true", "direction": "TO_CONTACT"}
        ),
        400,
        field="direction",
    )


def test_python_sdk_lists_pages_and_filters_messages(
    sinch: SinchClient, history: dict[str, Any]
) -> None:
    messages = sinch.conversation.messages
    listed = list(messages.list(app_id=history["app_id"], page_size=2).iterator())
    assert [m.id for m in listed] == [
        history["reply"],
        history["other"],
        *reversed(history["outbound"]),
    ]
    replies = list(
        messages.list(
            conversation_id=history["conversation_id"], only_recipient_originated=True
        ).iterator()
    )
    assert [m.id for m in replies] == [history["reply"]]
    assert replies[0].contact_message.text_message.text == "reply"


def test_python_sdk_get_update_and_delete_a_message(
    sinch: SinchClient, api: httpx.Client, history: dict[str, Any]
) -> None:
    messages = sinch.conversation.messages
    message_id = history["outbound"][0]
    got = messages.get(message_id)
    assert got.id == message_id
    assert got.direction == "TO_CONTACT"
    assert got.app_message.text_message.text == "m0"
    assert got.metadata == "meta0"
    assert got.conversation_id == history["conversation_id"]
    assert got.channel_identity.channel == "SMS"
    assert got.channel_identity.identity == history["number"]
    raw = api.get(f"/messages/{message_id}").json()
    assert raw["processing_mode"] == "CONVERSATION" and raw["injected"] is False
    assert raw["message_status"] is None

    updated = messages.update(message_id, metadata="changed")
    assert updated.metadata == "changed"
    assert messages.get(message_id, messages_source="CONVERSATION_SOURCE").metadata == "changed"

    messages.delete(message_id)
    with pytest.raises(ConversationException) as raised:
        messages.get(message_id)
    assert "NOT_FOUND" in str(raised.value)
    assert message_id not in listed_ids(api, conversation_id=history["conversation_id"])
    # The conversation stays.
    assert api.get(f"/conversations/{history['conversation_id']}").status_code == 200


def test_update_and_delete_errors(api: httpx.Client, history: dict[str, Any]) -> None:
    message_id = history["outbound"][1]
    assert_error(api.patch(f"/messages/{message_id}", json={}), 400, "INVALID_ARGUMENT")
    assert_error(
        api.patch(f"/messages/{message_id}", json={"metadata": "x" * 1025}), 400, "INVALID_ARGUMENT"
    )
    unknown = "01UNKNOWNMESSAGE000000000A"
    assert_error(api.get(f"/messages/{unknown}"), 404, "NOT_FOUND")
    assert_error(api.patch(f"/messages/{unknown}", json={"metadata": "m"}), 404, "NOT_FOUND")
    assert_error(api.delete(f"/messages/{unknown}"), 404, "NOT_FOUND")
    assert api.delete(f"/messages/{message_id}").json() == {}
    assert_error(api.delete(f"/messages/{message_id}"), 404, "NOT_FOUND")


def test_python_sdk_last_message_per_channel_identity(
    sinch: SinchClient, history: dict[str, Any]
) -> None:
    """The SDK sends every unset field as JSON null ("view": null, "page_size": null...):
    chorus must read a null as "not given"."""
    messages = sinch.conversation.messages
    last = list(
        messages.list_last_messages_by_channel_identity(
            channel_identities=[history["number"], history["other_number"]],
            app_id=history["app_id"],
            messages_source="CONVERSATION_SOURCE",
        ).iterator()
    )
    assert [m.id for m in last] == [history["reply"], history["other"]]
    outbound_only = list(
        messages.list_last_messages_by_channel_identity(
            channel_identities=[history["number"]],
            messages_source="CONVERSATION_SOURCE",
            direction="TO_CONTACT",
            view="WITHOUT_METADATA",
        ).iterator()
    )
    assert [m.id for m in outbound_only] == [history["outbound"][-1]]


def fetch_last(api: httpx.Client, **body: Any) -> list[str]:
    response = api.post("/messages:fetch-last-message", json=body)
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["messages"]]


def test_fetch_last_message_per_identity_or_contact(
    api: httpx.Client, history: dict[str, Any]
) -> None:
    h = history
    conversation_source = {"messages_source": "CONVERSATION_SOURCE"}
    assert fetch_last(
        api,
        channel_identities=[h["number"], h["other_number"]],
        app_id=h["app_id"],
        **conversation_source,
    ) == [h["reply"], h["other"]]
    assert fetch_last(
        api, channel_identities=[h["number"]], direction="TO_CONTACT", **conversation_source
    ) == [h["outbound"][-1]]
    assert fetch_last(
        api, channel_identities=[f"+{h['number']}"], app_id=h["app_id"], **conversation_source
    ) == [h["reply"]]
    assert fetch_last(api, channel_identities=[h["number"]], app_id="", **conversation_source) == [
        h["reply"]
    ]
    assert fetch_last(api, contact_ids=[h["other_contact_id"]], **conversation_source) == [
        h["other"]
    ]
    paged = api.post(
        "/messages:fetch-last-message",
        json={
            "channel_identities": [h["number"], h["other_number"]],
            "page_size": 1,
            **conversation_source,
        },
    ).json()
    assert [m["id"] for m in paged["messages"]] == [h["reply"]] and paged["next_page_token"]
    second = fetch_last(
        api,
        channel_identities=[h["number"], h["other_number"]],
        page_size=1,
        page_token=paged["next_page_token"],
        **conversation_source,
    )
    assert second == [h["other"]]
    # DISPATCH_SOURCE is the default here (§2.8): conversation messages are not in it.
    assert fetch_last(api, channel_identities=[h["number"]]) == []

    assert_error(
        api.post(
            "/messages:fetch-last-message",
            json={
                "channel_identities": [h["number"]],
                "contact_ids": [h["contact_id"]],
                **conversation_source,
            },
        ),
        400,
        "INVALID_ARGUMENT",
    )


def test_recent_conversations_carry_their_last_message(
    api: httpx.Client, history: dict[str, Any]
) -> None:
    recent = api.get("/conversations:recent", params={"app_id": history["app_id"]}).json()
    by_conversation = {c["conversation"]["id"]: c for c in recent["conversations"]}
    assert by_conversation[history["conversation_id"]]["last_message"]["id"] == history["reply"]
    last = by_conversation[history["conversation_id"]]["last_message"]
    assert last["direction"] == "TO_APP"
    assert last["contact_message"] == {"text_message": {"text": "reply"}}
    other = next(
        c for c in recent["conversations"] if c["conversation"]["id"] != history["conversation_id"]
    )
    assert other["last_message"]["id"] == history["other"]
    # Newest last message first.
    assert recent["conversations"][0]["conversation"]["id"] == history["conversation_id"]


# ---------------------------------------------------------------- inject


def test_injected_messages_are_listed_as_injected_and_call_nothing(
    api: httpx.Client, hook: Hook, history: dict[str, Any]
) -> None:
    h = history
    conversation_id = h["conversation_id"]
    yesterday = datetime.now(UTC) - timedelta(days=1)
    injected_out = api.post(
        f"/conversations/{conversation_id}:inject-message",
        json={
            "app_message": {"text_message": {"text": "imported out"}},
            "direction": "TO_CONTACT",
            "accept_time": iso(yesterday),
            "channel_identity": {"channel": "SMS", "identity": h["number"]},
            "contact_id": h["contact_id"],
            "metadata": "imported",
        },
    )
    assert injected_out.status_code == 200, injected_out.text
    assert injected_out.json() == {}
    injected_in = api.post(
        f"/conversations/{conversation_id}:inject-message",
        json={
            "contact_message": {"text_message": {"text": "imported in"}},
            "direction": "TO_APP",
            "accept_time": iso(yesterday + timedelta(minutes=1)),
            "channel_identity": {"channel": "SMS", "identity": h["number"]},
            "contact_id": h["contact_id"],
            "conversation_id": conversation_id,
            "sender_id": "12345",
        },
    )
    assert injected_in.status_code == 200, injected_in.text

    listed = api.get("/messages", params={"conversation_id": conversation_id, "page_size": 20})
    messages = listed.json()["messages"]
    injected = [m for m in messages if m["injected"]]
    assert [m.get("app_message") or m.get("contact_message") for m in injected] == [
        {"text_message": {"text": "imported in"}},
        {"text_message": {"text": "imported out"}},
    ]
    assert messages[-2:] == injected  # the oldest accept_times, so the end of the list
    assert injected[1]["metadata"] == "imported"
    assert injected[0]["sender_id"] == "12345"
    known = {h["reply"], *h["outbound"], h["other"]}
    injected_ids = {m["id"] for m in injected}
    # No MESSAGE_* callback is about an injected message.
    callbacks_about = [
        b
        for b in hook.bodies(h["app_id"])
        if (
            b.get("message")
            or b.get("message_delivery_report")
            or b.get("message_submit_notification")
            or {}
        ).get("id")
        in injected_ids
        or (b.get("message_delivery_report") or b.get("message_submit_notification") or {}).get(
            "message_id"
        )
        in injected_ids
    ]
    assert callbacks_about == []
    assert not injected_ids & known


def inject_message_body(h: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {
        "app_message": {"text_message": {"text": "imported"}},
        "direction": "TO_CONTACT",
        "accept_time": iso(datetime.now(UTC) - timedelta(hours=1)),
        "channel_identity": {"channel": "SMS", "identity": h["number"]},
        "contact_id": h["contact_id"],
        **changes,
    }
    return {k: v for k, v in body.items() if v is not None}


def test_inject_message_refusals(api: httpx.Client, history: dict[str, Any]) -> None:
    h = history
    path = f"/conversations/{h['conversation_id']}:inject-message"
    now = datetime.now(UTC)
    for changes in (
        {"accept_time": iso(now + timedelta(hours=1))},  # in the future
        {"accept_time": iso(now - timedelta(days=31))},  # older than 30 days
        {"contact_id": h["other_contact_id"]},  # not the conversation's contact
        {"conversation_id": "01OTHERCONVERSATION000000A"},  # not the path's conversation
        {"app_message": None},  # no message
        {"contact_message": {"text_message": {"text": "both"}}},  # two messages
        {"accept_time": None},  # required
    ):
        assert_error(
            api.post(path, json=inject_message_body(h, **changes)), 400, "INVALID_ARGUMENT"
        )
    for changes in (
        {"direction": "TO_APP"},  # an app message travels TO_CONTACT
        {"direction": "UP"},  # no direction at all
        {"app_message": None, "contact_message": {"text_message": {"text": "x"}}},  # TO_APP
    ):
        assert_error(
            api.post(path, json=inject_message_body(h, **changes)),
            400,
            "INVALID_ARGUMENT",
            field="direction",
        )
    assert_error(
        api.post(
            "/conversations/01NOSUCHCONVERSATION00000A:inject-message", json=inject_message_body(h)
        ),
        404,
        "NOT_FOUND",
    )


def test_inject_event_stores_the_event_in_the_conversation(
    api: httpx.Client, history: dict[str, Any]
) -> None:
    h = history
    path = f"/conversations/{h['conversation_id']}:inject-event"
    response = api.post(
        path,
        json={
            "app_event": {"composing_event": {}},
            "accept_time": iso(datetime.now(UTC) - timedelta(minutes=5)),
            "contact_id": h["contact_id"],
            "channel_identity": {"channel": "SMS", "identity": h["number"]},
        },
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {"event_id", "accepted_time"} and len(answer["event_id"]) == 26
    events = api.get("/events", params={"conversation_id": h["conversation_id"]}).json()["events"]
    assert answer["event_id"] in [e["id"] for e in events]
    stored = api.get(f"/events/{answer['event_id']}").json()
    assert stored["app_event"] == {"composing_event": {}}

    old = iso(datetime.now(UTC) - timedelta(days=31))
    for body in (
        {"app_event": {"composing_event": {}}, "accept_time": old},
        {
            "app_event": {"composing_event": {}},
            "accept_time": iso(datetime.now(UTC) + timedelta(hours=1)),
        },
        {
            "app_event": {"composing_event": {}},
            "accept_time": iso(datetime.now(UTC)),
            "contact_id": h["other_contact_id"],
        },
        {"app_event": {}, "accept_time": iso(datetime.now(UTC))},
        {"accept_time": iso(datetime.now(UTC))},
    ):
        assert_error(api.post(path, json=body), 400, "INVALID_ARGUMENT")


def test_messages_of_another_project_are_not_found(server: Server, history: dict[str, Any]) -> None:
    with server.client(server.other) as other:
        assert_error(other.get(f"/messages/{history['outbound'][0]}"), 404, "NOT_FOUND")
        assert_error(other.delete(f"/messages/{history['outbound'][0]}"), 404, "NOT_FOUND")
        assert other.get("/messages", params={"app_id": history["app_id"]}).json()["messages"] == []
