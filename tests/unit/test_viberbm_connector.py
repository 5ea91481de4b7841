"""The VIBERBM connector against a fake of the chorus-owned API (CHANNELS.md part 2 §2.3,
§2.6): the request it sends, what it refuses without a call, and the error table."""

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from chorus.channels.base import Accepted, ChannelFailure, Dispatch
from chorus.channels.viberbm.plugin import PLUGIN
from chorus.kit.clock import utcnow
from chorus.wire.messages import AppMessage, ReasonCode

BASE = "https://viberbm.test"
SERVICE = "SVC1"
TOKEN = "bm-token"
CREDENTIAL = {"channel": "VIBERBM", "static_bearer": {"claimed_identity": SERVICE, "token": TOKEN}}
SESSION_ACCOUNT = {**CREDENTIAL, "account_type": "session"}
MESSAGE_ID = "01HX5Y0Q7V3C9G2ZB1M4RT6K8N"


def dispatch(
    generic: dict[str, Any] | None = None,
    *,
    identity: str = "46732000000",
    credential: dict[str, Any] | None = None,
    **fields: Any,
) -> Dispatch:
    message = AppMessage.model_validate(generic or {"text_message": {"text": "Hello"}})
    return Dispatch(
        project_id="p",
        app_id="APP",
        message_id=MESSAGE_ID,
        identity=identity,
        credential=credential or CREDENTIAL,
        transcoded=PLUGIN.transcode(message, message_id=MESSAGE_ID),
        properties={},
        inbound_url="https://chorus.test/inbound/viberbm/APP",
        **fields,
    )


def run(
    handler: Callable[[httpx.Request], httpx.Response], job: Dispatch, base: str = BASE
) -> tuple[Accepted | ChannelFailure, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    async def go() -> Accepted | ChannelFailure:
        async with httpx.AsyncClient(transport=httpx.MockTransport(recording)) as http:
            try:
                return await PLUGIN.send(http, base, job)
            except ChannelFailure as failure:
                return failure

    return asyncio.run(go()), seen


def accepted(request: httpx.Request) -> httpx.Response:
    return httpx.Response(202, json={"id": f"vbm_{len(request.content)}", "status": "accepted"})


def error(status: int, code: str, headers: dict[str, str] | None = None) -> Callable:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status, json={"error": {"code": code, "message": f"{code} text"}}, headers=headers
        )

    return handler


def test_a_send_posts_the_body_to_the_service_with_the_bearer_token() -> None:
    outcome, seen = run(accepted, dispatch())
    assert isinstance(outcome, Accepted) and outcome.native_id.startswith("vbm_")
    [request] = seen
    assert str(request.url) == f"{BASE}/viberbm/v1/services/{SERVICE}/messages"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert json.loads(request.content) == {
        "client_ref": MESSAGE_ID,
        "receiver": "46732000000",
        "message_class": "transactional",
        "ttl": 86400,
        "type": "text",
        "text": "Hello",
    }


def test_an_open_session_makes_the_message_class_session() -> None:
    _, seen = run(accepted, dispatch(last_inbound_at=utcnow() - timedelta(hours=23)))
    assert json.loads(seen[0].content)["message_class"] == "session"
    _, seen = run(accepted, dispatch(last_inbound_at=utcnow() - timedelta(hours=25)))
    assert json.loads(seen[0].content)["message_class"] == "transactional"


def test_the_ttl_is_the_messages_remaining_ttl_within_the_native_range() -> None:
    _, seen = run(accepted, dispatch(ttl_seconds=3600.4))
    assert json.loads(seen[0].content)["ttl"] == 3600
    _, seen = run(accepted, dispatch(ttl_seconds=5))
    assert json.loads(seen[0].content)["ttl"] == 30
    _, seen = run(accepted, dispatch(ttl_seconds=10**8))
    assert json.loads(seen[0].content)["ttl"] == 1209600


def test_an_explicit_message_keeps_its_ttl_and_class() -> None:
    generic = {
        "text_message": {"text": "x"},
        "explicit_channel_message": {
            "VIBERBM": '{"type": "text", "text": "e", "ttl": 120, "message_class": "promotional"}'
        },
    }
    _, seen = run(accepted, dispatch(generic, ttl_seconds=3600))
    body = json.loads(seen[0].content)
    assert (body["ttl"], body["message_class"], body["receiver"]) == (
        120,
        "promotional",
        "46732000000",
    )


def test_an_invalid_identity_fails_without_a_call() -> None:
    outcome, seen = run(accepted, dispatch(identity="+46 73"))
    assert isinstance(outcome, ChannelFailure)
    assert outcome.code == ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY
    assert seen == []
    assert not PLUGIN.identity_is_valid("0732000000")
    assert PLUGIN.identity_is_valid("46732000000")


def test_a_session_account_outside_the_session_fails_without_a_call() -> None:
    outcome, seen = run(accepted, dispatch(credential=SESSION_ACCOUNT))
    assert isinstance(outcome, ChannelFailure)
    assert outcome.code == ReasonCode.OUTSIDE_ALLOWED_SENDING_WINDOW
    assert seen == []
    late = dispatch(credential=SESSION_ACCOUNT, last_inbound_at=utcnow() - timedelta(hours=25))
    assert run(accepted, late)[1] == []


def test_the_window_check_can_be_turned_off() -> None:
    outcome, seen = run(accepted, dispatch(credential=SESSION_ACCOUNT, enforce_windows=False))
    assert isinstance(outcome, Accepted) and len(seen) == 1


def test_a_session_account_within_the_session_sends() -> None:
    job = dispatch(credential=SESSION_ACCOUNT, last_inbound_at=utcnow() - timedelta(minutes=5))
    outcome, seen = run(accepted, job)
    assert isinstance(outcome, Accepted)
    assert json.loads(seen[0].content)["message_class"] == "session"


CARD_WITH_IMAGE = {
    "card_message": {
        "title": "Sale",
        "media_message": {"url": "https://cdn.example.com/s.jpg"},
        "choices": [{"url_message": {"title": "Open", "url": "https://s.example.com"}}],
    }
}


def test_a_card_on_a_session_account_goes_as_image_then_text() -> None:
    job = dispatch(CARD_WITH_IMAGE, credential=SESSION_ACCOUNT, last_inbound_at=utcnow())
    outcome, seen = run(accepted, job)
    bodies = [json.loads(r.content) for r in seen]
    assert [(b["type"], b.get("image_url"), b.get("text")) for b in bodies] == [
        ("image", "https://cdn.example.com/s.jpg", None),
        ("text", None, "Sale\nOpen: https://s.example.com"),
    ]
    assert all(b["client_ref"] == MESSAGE_ID for b in bodies)
    # Every part's id is kept (CHANNELS.md, "Parts"), so a report about the text finds it.
    assert outcome == Accepted(
        native_id=accepted(seen[0]).json()["id"],
        extra_native_ids=(accepted(seen[1]).json()["id"],),
    )


def test_a_later_part_failing_transiently_is_permanent() -> None:
    """The image went out: a retry would send it again (CHANNELS.md, "Parts")."""
    answers = iter([accepted, error(503, "")])
    job = dispatch(CARD_WITH_IMAGE, credential=SESSION_ACCOUNT, last_inbound_at=utcnow())
    outcome, seen = run(lambda request: next(answers)(request), job)
    assert isinstance(outcome, ChannelFailure), outcome
    assert (outcome.code, outcome.transient) == (ReasonCode.CHANNEL_FAILURE, False)
    assert outcome.description.startswith("part 2 of 2: ")
    assert len(seen) == 2


def test_without_a_base_url_the_channel_is_not_configured() -> None:
    outcome, seen = run(accepted, dispatch(), base="")
    assert isinstance(outcome, ChannelFailure)
    assert outcome.code == ReasonCode.CHANNEL_BAD_CONFIGURATION and seen == []


@pytest.mark.parametrize(
    ("status", "code", "reason"),
    [
        (400, "INVALID_RECEIVER", ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY),
        (422, "NOT_VIBER_USER", ReasonCode.RECIPIENT_NOT_REACHABLE),
        (422, "UNSUPPORTED_DEVICE", ReasonCode.RECIPIENT_NOT_REACHABLE),
        (422, "USER_BLOCKED", ReasonCode.RECIPIENT_NOT_OPTED_IN),
        (422, "OPTED_OUT", ReasonCode.RECIPIENT_NOT_OPTED_IN),
        (422, "NO_SESSION", ReasonCode.OUTSIDE_ALLOWED_SENDING_WINDOW),
        (422, "MEDIA_TYPE_UNSUPPORTED", ReasonCode.MEDIA_TYPE_UNSUPPORTED),
        (422, "MEDIA_TOO_LARGE", ReasonCode.MEDIA_TOO_LARGE),
        (422, "MEDIA_NOT_REACHABLE", ReasonCode.MEDIA_NOT_REACHABLE),
        (400, "INVALID_REQUEST", ReasonCode.BAD_REQUEST),
        (401, "UNAUTHORIZED", ReasonCode.CHANNEL_BAD_CONFIGURATION),
        (404, "UNKNOWN_SERVICE", ReasonCode.CHANNEL_BAD_CONFIGURATION),
        (403, "SERVICE_SUSPENDED", ReasonCode.CHANNEL_BAD_CONFIGURATION),
    ],
)
def test_permanent_native_errors_map_to_their_reason(
    status: int, code: str, reason: ReasonCode
) -> None:
    outcome, _ = run(error(status, code), dispatch())
    assert isinstance(outcome, ChannelFailure)
    assert (outcome.code, outcome.transient, outcome.channel_code) == (reason, False, code)
    assert outcome.description == f"{code} text"


def test_throttling_is_transient_and_honours_retry_after() -> None:
    outcome, _ = run(error(429, "THROTTLED", {"Retry-After": "7"}), dispatch())
    assert isinstance(outcome, ChannelFailure)
    assert (outcome.code, outcome.transient, outcome.retry_after) == (
        ReasonCode.RATE_LIMITED,
        True,
        7.0,
    )


@pytest.mark.parametrize("status", [500, 502, 503])
def test_internal_errors_are_transient_channel_failures(status: int) -> None:
    outcome, _ = run(error(status, "INTERNAL"), dispatch())
    assert isinstance(outcome, ChannelFailure)
    assert (outcome.code, outcome.transient) == (ReasonCode.CHANNEL_FAILURE, True)


def test_errors_without_a_native_code_map_by_status() -> None:
    def bare(status: int) -> Callable:
        return lambda request: httpx.Response(status, text="nope")

    cases = {
        503: (ReasonCode.CHANNEL_FAILURE, True),
        429: (ReasonCode.RATE_LIMITED, True),
        401: (ReasonCode.CHANNEL_BAD_CONFIGURATION, False),
        422: (ReasonCode.BAD_REQUEST, False),
    }
    for status, expected in cases.items():
        outcome, _ = run(bare(status), dispatch())
        assert isinstance(outcome, ChannelFailure)
        assert (outcome.code, outcome.transient) == expected
        assert outcome.channel_code == str(status)


def test_timeouts_and_connection_errors_are_transient() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    for handler in (timeout, refused):
        outcome, _ = run(handler, dispatch())
        assert isinstance(outcome, ChannelFailure)
        assert (outcome.code, outcome.transient) == (ReasonCode.CHANNEL_FAILURE, True)


def test_an_acceptance_without_an_id_is_a_transient_failure() -> None:
    outcome, _ = run(lambda request: httpx.Response(202, json={"status": "accepted"}), dispatch())
    assert isinstance(outcome, ChannelFailure) and outcome.transient
