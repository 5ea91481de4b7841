"""Helpers of the consent and capability tests: apps with credentials for several channels
(all served by the simulator), a recording webhook that also takes CAPABILITY, OPT_IN and
OPT_OUT, the callbacks it recorded, and the simulator's handsets."""

import random
import uuid
from typing import Any

import httpx

from tests.conftest import Server
from tests.integration.helpers import ALL_TRIGGERS, wait_for

CONSENT_TRIGGERS = ["CAPABILITY", "OPT_IN", "OPT_OUT"]
SECRET = "consent-secret"


def msisdn() -> str:
    return f"4676{random.randrange(10**7):07d}"


def credential(channel: str) -> dict[str, Any]:
    """A credential the simulator accepts; each app gets its own sender on the channel."""
    suffix = uuid.uuid4().hex[:10]
    if channel == "SMS":
        return {
            "channel": "SMS",
            "static_bearer": {"claimed_identity": f"plan{suffix}", "token": "t"},
        }
    if channel == "WHATSAPP":
        number_id = str(random.randrange(10**14, 10**15))
        return {
            "channel": "WHATSAPP",
            "static_bearer": {"claimed_identity": number_id, "token": suffix},
            "callback_secret": SECRET,
        }
    if channel == "RCS":
        return {
            "channel": "RCS",
            "static_bearer": {"claimed_identity": f"agent_{suffix}", "token": "rbm-token"},
            "callback_secret": SECRET,
        }
    if channel == "VIBERBM":
        return {
            "channel": "VIBERBM",
            "static_bearer": {"claimed_identity": f"SVC{suffix}", "token": "bm-token"},
            "callback_secret": SECRET,
        }
    if channel == "VIBER":
        return {"channel": "VIBER", "static_token": {"token": f"viber-{suffix}"}}
    if channel == "MESSENGER":
        return {
            "channel": "MESSENGER",
            "static_token": {"token": f"page-{suffix}"},
            "callback_secret": SECRET,
        }
    raise ValueError(channel)


def consent_app(api: httpx.Client, *channels: str, **fields: Any) -> str:
    """An app with credentials for `channels` and a recording (DISMISS) webhook on every
    trigger."""
    body = {
        "display_name": f"consent-{uuid.uuid4().hex[:6]}",
        "channel_credentials": [credential(c) for c in channels],
        **fields,
    }
    response = api.post("/apps", json=body)
    assert response.status_code == 200, response.text
    app_id = response.json()["id"]
    hook = api.post(
        "/webhooks",
        json={
            "app_id": app_id,
            "target": "http://127.0.0.1:9/unused",
            "target_type": "DISMISS",
            "triggers": ALL_TRIGGERS + CONSENT_TRIGGERS,
        },
    )
    assert hook.status_code == 200, hook.text
    return app_id


def identities(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {
        "identified_by": {"channel_identities": [{"channel": c, "identity": i} for c, i in pairs]}
    }


def channel_opt_out(channel: str, identity: str, contact_id: str = "") -> dict[str, Any]:
    """The `opt_out_notification` of an opt-out a channel reported (not a registration)."""
    return {
        "request_id": "",
        "contact_id": contact_id,
        "channel": channel,
        "identity": identity,
        "status": "OPT_OUT_SUCCEEDED",
        "processing_mode": "CONVERSATION",
    }


def payloads(server: Server, app_id: str, key: str) -> list[dict[str, Any]]:
    """The `key` payloads (e.g. `opt_out_notification`) recorded for the app, oldest first."""
    return [c[key] for c in server.recorded_callbacks(app_id) if key in c]


def bodies(server: Server, app_id: str, key: str) -> list[dict[str, Any]]:
    return [c for c in server.recorded_callbacks(app_id) if key in c]


def wait_for_payloads(
    server: Server, app_id: str, key: str, count: int = 1
) -> list[dict[str, Any]]:
    return wait_for(
        lambda: (found := payloads(server, app_id, key)) and len(found) >= count and found,
        what=f"{count} {key} callback(s) for app {app_id}",
    )


def reports(server: Server, app_id: str, message_id: str) -> list[dict[str, Any]]:
    return [
        r
        for r in payloads(server, app_id, "message_delivery_report")
        if r["message_id"] == message_id
    ]


def wait_for_status(server: Server, app_id: str, message_id: str, status: str) -> dict[str, Any]:
    return wait_for(
        lambda: next(
            (r for r in reports(server, app_id, message_id) if r["status"] == status), None
        ),
        what=f"{status} for {message_id}",
    )


def send(api: httpx.Client, app_id: str, recipient: dict[str, Any], **options: Any) -> str:
    body = {
        "app_id": app_id,
        "recipient": recipient,
        "message": {"text_message": {"text": "hello"}},
        **options,
    }
    response = api.post("/messages:send", json=body)
    assert response.status_code == 200, response.text
    return response.json()["message_id"]


def control(server: Server) -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}/simulator/v1", timeout=30)


def handset_writes(server: Server, channel: str, number: str, app_id: str, text: str) -> None:
    with control(server) as client:
        response = client.post(
            f"/handsets/{channel.lower()}/{number}/messages",
            json={"app_id": app_id, "text_message": {"text": text}},
        )
    assert response.status_code == 200, response.text
    assert response.json()["status_code"] == 200, response.text


def set_handset(server: Server, channel: str, number: str, **settings: Any) -> None:
    with control(server) as client:
        response = client.patch(f"/handsets/{channel.lower()}/{number}", json=settings)
    assert response.status_code == 200, response.text


def received(server: Server, channel: str, number: str) -> list[str]:
    """What the handset got from chorus."""
    with control(server) as client:
        response = client.get(f"/handsets/{channel.lower()}/{number}")
    if response.status_code == 404:
        return []
    return [e["text"] for e in response.json()["inbox"] if e["direction"] == "received"]
