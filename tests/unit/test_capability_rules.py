"""Per-channel capability rules (CHANNELS.md part 1 §1.8, §2.8, §3.8; part 2 §1.8, §2.8,
§3.8): what each plugin answers without a network call, and how the RCS connector reads
RBM's answers (served here by an httpx mock transport standing in for RBM)."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from chorus.channels.base import Capability, CapabilityQuery
from chorus.channels.registry import plugin_for

NUMBER = "46701234567"
EARLIER = datetime(2024, 5, 1, tzinfo=UTC)
LATER = EARLIER + timedelta(hours=1)
RBM_CREDENTIAL = {"channel": "RCS", "static_bearer": {"claimed_identity": "agent", "token": "t"}}


def ask(
    channel: str,
    identity: str,
    handler: Any = None,
    credential: dict[str, Any] | None = None,
    **facts: Any,
) -> Capability:
    transport = httpx.MockTransport(handler or (lambda request: httpx.Response(500)))
    query = CapabilityQuery(app_id="APP", identity=identity, credential=credential or {}, **facts)

    async def run() -> Capability:
        async with httpx.AsyncClient(transport=transport) as http:
            plugin = plugin_for(channel)
            assert plugin is not None
            return await plugin.capability(http, "http://rbm.test", query)

    return asyncio.run(run())


@pytest.mark.parametrize("channel", ["SMS", "VIBERBM"])
def test_msisdn_channels_answer_from_the_number(channel: str) -> None:
    assert ask(channel, NUMBER).status == "CAPABILITY_FULL"
    assert ask(channel, NUMBER, opted_out=True).status == "CAPABILITY_FULL"
    invalid = ask(channel, "0701")
    assert invalid.status == "NO_CAPABILITY"
    assert invalid.reason and invalid.reason["code"] == "RECIPIENT_INVALID_CHANNEL_IDENTITY"


def test_whatsapp_answers_from_the_latest_evidence() -> None:
    assert ask("WHATSAPP", NUMBER).status == "CAPABILITY_UNKNOWN"
    assert ask("WHATSAPP", NUMBER, seen_inbound=True, last_reached_at=EARLIER).status == (
        "CAPABILITY_FULL"
    )
    gone = ask(
        "WHATSAPP",
        NUMBER,
        last_reached_at=EARLIER,
        last_failure_code="131026",
        last_failure_at=LATER,
    )
    assert gone.status == "NO_CAPABILITY"
    assert gone.reason == {
        "code": "RECIPIENT_NOT_REACHABLE",
        "description": gone.reason["description"],
        "sub_code": "UNSPECIFIED_SUB_CODE",
        "channel_code": "131026",
    }
    back = ask(
        "WHATSAPP",
        NUMBER,
        last_reached_at=LATER,
        last_failure_code="131026",
        last_failure_at=EARLIER,
    )
    assert back.status == "CAPABILITY_FULL"
    other_failure = ask("WHATSAPP", NUMBER, last_failure_code="131047", last_failure_at=LATER)
    assert other_failure.status == "CAPABILITY_UNKNOWN"
    assert ask("WHATSAPP", "+46").status == "NO_CAPABILITY"


def test_messenger_and_viber_answer_from_the_id() -> None:
    assert ask("MESSENGER", "534183549153491").status == "CAPABILITY_FULL"
    assert ask("MESSENGER", "not-a-psid").reason["code"] == "RECIPIENT_INVALID_CHANNEL_IDENTITY"
    user = "9KC0p+pi4zPGDO99ACDxoQ=="
    assert ask("VIBER", user).status == "CAPABILITY_FULL"
    unsubscribed = ask("VIBER", user, opted_out=True)
    assert unsubscribed.status == "NO_CAPABILITY"
    assert unsubscribed.reason["code"] == "RECIPIENT_NOT_OPTED_IN"


def rbm(status: int, body: dict[str, Any] | None = None) -> Any:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body or {})

    handler.seen = seen  # type: ignore[attr-defined]
    return handler


def test_rcs_features_decide_full_or_partial() -> None:
    every = [
        "RICHCARD_STANDALONE",
        "RICHCARD_CAROUSEL",
        "ACTION_CREATE_CALENDAR_EVENT",
        "ACTION_DIAL",
        "ACTION_OPEN_URL",
        "ACTION_SHARE_LOCATION",
        "ACTION_VIEW_LOCATION",
    ]
    handler = rbm(200, {"features": every})
    full = ask("RCS", NUMBER, handler, RBM_CREDENTIAL)
    assert full == Capability("CAPABILITY_FULL", tuple(every))
    [request] = handler.seen
    assert request.url.path == f"/v1/phones/+{NUMBER}/capabilities"
    assert request.url.params["agentId"] == "agent" and request.url.params["requestId"]
    assert request.headers["authorization"] == "Bearer t"
    partial = ask("RCS", NUMBER, rbm(200, {"features": ["ACTION_DIAL"]}), RBM_CREDENTIAL)
    assert partial == Capability("CAPABILITY_PARTIAL", ("ACTION_DIAL",))


def test_rcs_errors_map_to_statuses_and_reasons(monkeypatch: pytest.MonkeyPatch) -> None:
    from chorus.channels.rcs import connector

    monkeypatch.setattr(connector, "CAPABILITY_BACKOFF", 0.0)
    not_found = ask("RCS", NUMBER, rbm(404, {"error": {"status": "NOT_FOUND"}}), RBM_CREDENTIAL)
    assert not_found.status == "NO_CAPABILITY"
    assert not_found.reason["code"] == "RECIPIENT_NOT_REACHABLE"
    refused = ask("RCS", NUMBER, rbm(403), RBM_CREDENTIAL)
    assert (refused.status, refused.reason["code"]) == (
        "CAPABILITY_UNKNOWN",
        "CHANNEL_BAD_CONFIGURATION",
    )
    failing = rbm(503)
    unavailable = ask("RCS", NUMBER, failing, RBM_CREDENTIAL)
    assert (unavailable.status, unavailable.reason["code"]) == (
        "CAPABILITY_UNKNOWN",
        "CHANNEL_FAILURE",
    )
    assert len(failing.seen) == connector.CAPABILITY_ATTEMPTS  # retried before giving up
    assert ask("RCS", NUMBER, rbm(200), {}).reason["code"] == "CHANNEL_BAD_CONFIGURATION"
    assert ask("RCS", "+46").reason["code"] == "RECIPIENT_INVALID_CHANNEL_IDENTITY"
