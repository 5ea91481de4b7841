"""Consent a channel's user originates, produced by the simulator: a change of a VIBER or
VIBERBM handset's `subscribed` setting posts the channel's own signed callback (Viber
`subscribed` / `unsubscribed`, VIBERBM `opt_in` / `opt_out`) to the app, and chorus answers it
as the real callback (CHANNELS.md part 2 §2.7, §3.7, §3.8; Decision 6): notifications, the
consent list with ORIGIN_MO audit records, capability and the send path. A real server, the
simulator as the channel."""

import random
import string
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import Server
from tests.integration.consent_helpers import (
    channel_opt_out,
    consent_app,
    control,
    identities,
    msisdn,
    payloads,
    received,
    send,
    wait_for_payloads,
    wait_for_status,
)
from tests.integration.helpers import assert_error, wait_for
from tests.integration.pipeline_helpers import DedicatedServer, dedicated_server


def viber_user() -> str:
    """A fresh Viber user id (no "/", so it fits the control API's path)."""
    alphabet = string.ascii_letters + string.digits + "+"
    return "".join(random.choices(alphabet, k=22)) + "=="


def patch(server: Server | DedicatedServer, channel: str, identity: str, **body: Any) -> Any:
    with httpx.Client(base_url=f"{server.url}/simulator/v1", timeout=30) as client:
        return client.patch(f"/handsets/{channel.lower()}/{identity}", json=body)


def subscribe(server: Server, channel: str, identity: str, app_id: str, value: bool) -> None:
    response = patch(server, channel, identity, subscribed=value, app_id=app_id)
    assert response.status_code == 200, response.text
    assert response.json()["settings"]["subscribed"] is value


def listed(api: httpx.Client, app_id: str, list_type: str = "OPT_OUT_ALL") -> list[str]:
    response = api.get(f"/apps/{app_id}/consents/{list_type}", params={"page_size": 50})
    assert response.status_code == 200, response.text
    return [i["identity"] for i in response.json()["identities"]]


def audit(api: httpx.Client, app_id: str, identity: str) -> list[tuple[str, str]]:
    response = api.get(f"/apps/{app_id}/consents/identities/{identity}")
    assert response.status_code == 200, response.text
    return [(r["operation"], r["origin"]) for r in response.json()["audit_records"]]


def capability(server: Server, api: httpx.Client, app_id: str, user: str) -> dict[str, Any]:
    count = len(payloads(server, app_id, "capability_notification"))
    response = api.post(
        "/capability:query",
        json={"app_id": app_id, "recipient": identities(("VIBER", user))},
    )
    assert response.status_code == 200, response.text
    return wait_for_payloads(server, app_id, "capability_notification", count + 1)[-1]


def test_a_viber_handset_unsubscribing_and_subscribing_is_consent_and_capability(
    server: Server, api: httpx.Client
) -> None:
    app_id = consent_app(api, "VIBER")
    user = viber_user()

    subscribe(server, "VIBER", user, app_id, False)
    [unsubscribed] = wait_for_payloads(server, app_id, "opt_out_notification")
    assert unsubscribed == channel_opt_out("VIBER", user)
    assert listed(api, app_id) == [user]
    assert audit(api, app_id, user) == [("OPERATION_INSERT", "ORIGIN_MO")]
    answer = capability(server, api, app_id, user)
    assert answer["capability_status"] == "NO_CAPABILITY"
    assert answer["reason"]["code"] == "RECIPIENT_NOT_OPTED_IN"
    # Unsubscribing again changes nothing, so nothing is posted.
    subscribe(server, "VIBER", user, app_id, False)

    subscribe(server, "VIBER", user, app_id, True)
    [subscribed] = wait_for_payloads(server, app_id, "opt_in_notification")
    assert subscribed["channel"] == "VIBER" and subscribed["identity"] == user
    assert subscribed["status"] == "OPT_IN_SUCCEEDED"
    assert subscribed["contact_id"]  # `subscribed` introduces the user: its contact exists
    assert listed(api, app_id) == []
    assert audit(api, app_id, user) == [
        ("OPERATION_INSERT", "ORIGIN_MO"),
        ("OPERATION_DELETE", "ORIGIN_MO"),
    ]
    assert capability(server, api, app_id, user)["capability_status"] == "CAPABILITY_FULL"
    assert len(payloads(server, app_id, "opt_out_notification")) == 1

    # The handset's inbox shows both, each with chorus's answer to the channel's callback.
    def answered() -> list[tuple[str, str, str]] | None:
        inbox = httpx.get(f"{server.url}/simulator/v1/handsets/viber/{user}").json()["inbox"]
        entries = [(e["direction"], e["text"], e["status"]) for e in inbox]
        return entries if all(status != "queued" for *_, status in entries) else None

    name = api.get(f"/apps/{app_id}").json()["display_name"]
    assert wait_for(answered, what="chorus's answers in the inbox") == [
        ("sent", f"(unsubscribed from {name})", "200"),
        ("sent", f"(subscribed to {name})", "200"),
    ]
    sent = send(api, app_id, identities(("VIBER", user)))
    wait_for_status(server, app_id, sent, "DELIVERED")


def test_a_viberbm_handset_opting_out_and_in_drives_the_list_and_the_send_path(
    server: Server, api: httpx.Client
) -> None:
    app_id = consent_app(api, "VIBERBM")
    number = msisdn()
    recipient = identities(("VIBERBM", number))

    subscribe(server, "VIBERBM", f"+{number}", app_id, False)
    [opted_out] = wait_for_payloads(server, app_id, "opt_out_notification")
    assert opted_out == channel_opt_out("VIBERBM", number)
    assert listed(api, app_id) == [number]
    assert audit(api, app_id, number) == [("OPERATION_INSERT", "ORIGIN_MO")]
    refused = send(api, app_id, recipient)
    failed = wait_for_status(server, app_id, refused, "FAILED")
    assert failed["reason"]["code"] == "RECIPIENT_NOT_OPTED_IN"
    assert received(server, "VIBERBM", number) == []

    subscribe(server, "VIBERBM", number, app_id, True)
    [opted_in] = wait_for_payloads(server, app_id, "opt_in_notification")
    assert opted_in["channel"] == "VIBERBM" and opted_in["identity"] == number
    assert opted_in["status"] == "OPT_IN_SUCCEEDED"
    assert listed(api, app_id) == []
    assert audit(api, app_id, number) == [
        ("OPERATION_INSERT", "ORIGIN_MO"),
        ("OPERATION_DELETE", "ORIGIN_MO"),
    ]
    sent = send(api, app_id, recipient)
    wait_for_status(server, app_id, sent, "DELIVERED")
    assert received(server, "VIBERBM", number) == ["hello"]


@pytest.mark.parametrize("channel", ["VIBER", "VIBERBM"])
def test_the_app_must_be_named_when_several_hold_the_channel(
    server: Server, api: httpx.Client, channel: str
) -> None:
    first, second = consent_app(api, channel), consent_app(api, channel)
    sms_only = consent_app(api, "SMS")
    identity = viber_user() if channel == "VIBER" else msisdn()

    for body in (
        {"subscribed": False},  # ambiguous: several apps hold the channel
        {"subscribed": False, "app_id": "01NOSUCHAPP0000000000000000"},
        {"subscribed": False, "app_id": sms_only},  # no credential of the channel
        {"subscribed": False, "app_id": 5},
        {"subscribed": False, "app_id": ""},
    ):
        assert_error(patch(server, channel, identity, **body), 400, field="app_id")
    # A refused PATCH changes nothing.
    with control(server) as client:
        assert client.get(f"/handsets/{channel.lower()}/{identity}").status_code == 404

    # A valid `app_id` with no change of `subscribed` posts nothing.
    response = patch(server, channel, identity, auto_read=False, app_id=second)
    assert response.status_code == 200, response.text
    subscribe(server, channel, identity, second, False)
    wait_for_payloads(server, second, "opt_out_notification")
    assert payloads(server, first, "opt_out_notification") == []


def test_app_id_is_not_a_setting_of_other_channels(server: Server, api: httpx.Client) -> None:
    app_id = consent_app(api, "SMS")
    response = patch(server, "SMS", msisdn(), subscribed=False, app_id=app_id)
    assert_error(response, 400, field="app_id")


@pytest.fixture(scope="module")
def alone(server: Server) -> Iterator[DedicatedServer]:
    """A server of its own, so that the apps holding VIBERBM are known."""
    with dedicated_server(server.backend) as dedicated:
        yield dedicated


def test_the_only_app_holding_the_channel_needs_no_app_id(alone: DedicatedServer) -> None:
    with alone.api() as api:
        # No app holds VIBER: the setting changes, nothing is told.
        response = patch(alone, "VIBER", viber_user(), subscribed=False)
        assert response.status_code == 200, response.text

        app_id = consent_app(api, "VIBERBM", "SMS")
        number = msisdn()
        response = patch(alone, "VIBERBM", number, subscribed=False)
        assert response.status_code == 200, response.text
        wait_for(lambda: listed(api, app_id) == [number], what="the opt-out on the list")

        consent_app(api, "VIBERBM")
        response = patch(alone, "VIBERBM", number, subscribed=True)
        assert_error(response, 400, field="app_id")
        assert listed(api, app_id) == [number]
