"""Fallback across channels, end to end through the simulator (issue 4, point 5): an app with
WHATSAPP, RCS and SMS, and a contact reachable only on SMS."""

import random
import uuid
from typing import Any

import httpx

from tests.conftest import Server
from tests.integration.helpers import recording_webhook, wait_for


def msisdn() -> str:
    return f"4670{random.randrange(10**7):07d}"


def three_channel_app(api: httpx.Client) -> str:
    suffix = uuid.uuid4().hex[:8]
    body = {
        "display_name": f"fallback-{suffix}",
        "channel_credentials": [
            {
                "channel": "WHATSAPP",
                "static_bearer": {"claimed_identity": f"1{random.randrange(10**9)}", "token": "w"},
            },
            {
                "channel": "RCS",
                "static_bearer": {"claimed_identity": f"agent_{suffix}", "token": "r"},
            },
            {
                "channel": "SMS",
                "static_bearer": {"claimed_identity": f"plan{suffix}", "token": "s"},
            },
        ],
    }
    response = api.post("/apps", json=body)
    assert response.status_code == 200, response.text
    app_id = response.json()["id"]
    recording_webhook(api, app_id)
    return app_id


def reports(server: Server, app_id: str, message_id: str) -> list[dict[str, Any]]:
    return [
        c["message_delivery_report"]
        for c in server.recorded_callbacks(app_id)
        if c["trigger"] == "MESSAGE_DELIVERY"
        and c["message_delivery_report"]["message_id"] == message_id
    ]


def statuses_until_delivered(server: Server, app_id: str, message_id: str) -> list[dict[str, Any]]:
    def delivered() -> list[dict[str, Any]]:
        found = reports(server, app_id, message_id)
        return found if any(r["status"] == "DELIVERED" for r in found) else []

    return wait_for(delivered, seconds=60, what=f"DELIVERED for {message_id}")


def test_a_contact_reachable_only_on_sms_is_reached_there_and_sms_comes_first_next_time(
    server: Server, api: httpx.Client
) -> None:
    app_id = three_channel_app(api)
    number = msisdn()
    with httpx.Client(base_url=f"{server.url}/simulator/v1", timeout=30) as simulator:
        # Not a WhatsApp user, and no RCS on the handset.
        for channel in ("whatsapp", "rcs"):
            response = simulator.patch(
                f"/handsets/{channel}/{number}",
                json={"capability": "NO_CAPABILITY", "reachable": False},
            )
            assert response.status_code == 200, response.text
    contact = api.post(
        "/contacts",
        json={
            "channel_identities": [
                {"channel": channel, "identity": number} for channel in ("WHATSAPP", "RCS", "SMS")
            ],
        },
    ).json()
    assert contact["channel_priority"] == ["WHATSAPP", "RCS", "SMS"]

    def send() -> str:
        response = api.post(
            "/messages:send",
            json={
                "app_id": app_id,
                "recipient": {"contact_id": contact["id"]},
                "message": {"text_message": {"text": "Your parcel is on its way"}},
            },
        )
        assert response.status_code == 200, response.text
        return response.json()["message_id"]

    first = send()
    flow = statuses_until_delivered(server, app_id, first)
    assert [(r["status"], r["channel_identity"]["channel"]) for r in flow] == [
        ("SWITCHING_CHANNEL", "WHATSAPP"),
        ("SWITCHING_CHANNEL", "RCS"),
        ("QUEUED_ON_CHANNEL", "SMS"),
        ("DELIVERED", "SMS"),
    ]
    assert all(r["reason"]["code"] for r in flow[:2]), "each switch says why"
    conversations = api.get("/conversations", params={"contact_id": contact["id"]}).json()
    assert [c["active_channel"] for c in conversations["conversations"]] == ["SMS"]

    second = send()
    flow = statuses_until_delivered(server, app_id, second)
    assert [(r["status"], r["channel_identity"]["channel"]) for r in flow] == [
        ("QUEUED_ON_CHANNEL", "SMS"),
        ("DELIVERED", "SMS"),
    ], "the conversation's active channel is tried first"
