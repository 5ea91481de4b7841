"""The Messenger connector (CHANNELS.md part 2 §1.3, §1.6): the Send API call, the sending
window, and Graph errors mapped to reason codes, against httpx.MockTransport."""

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from chorus.channels.base import ChannelFailure, Dispatch, Transcoded
from chorus.channels.messenger.plugin import PLUGIN
from chorus.kit.clock import utcnow
from chorus.wire.messages import AppMessage

BASE = "https://graph.example.com/v21.0"
PSID = "534183549153491"
CREDENTIAL = {"channel": "MESSENGER", "static_token": {"token": "page-token"}}


def dispatch(
    native: Any = None,
    *,
    identity: str = PSID,
    last_inbound_hours: float | None = 1,
    enforce: bool = True,
    credential: dict[str, Any] | None = None,
    properties: dict[str, str] | None = None,
    kind: str = "message",
) -> Dispatch:
    if native is None:
        message = AppMessage.model_validate({"text_message": {"text": "Hi"}})
        native = PLUGIN.transcode(message, message_id="M", properties=properties).native
    return Dispatch(
        project_id="P",
        app_id="A",
        message_id="M",
        identity=identity,
        credential=credential or CREDENTIAL,
        transcoded=Transcoded(native=native),
        properties=properties or {},
        inbound_url="http://chorus/inbound/messenger/A",
        last_inbound_at=None
        if last_inbound_hours is None
        else utcnow() - timedelta(hours=last_inbound_hours),
        enforce_windows=enforce,
        kind=kind,
    )


def send(d: Dispatch, handler: Any) -> Any:
    async def run() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            return await PLUGIN.send(http, BASE, d)

    return asyncio.run(run())


def graph_error(
    status: int, code: int, subcode: int | None = None, message: str = "(#x) err", **headers: str
) -> Any:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "AbC"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": error}, headers=headers)

    return handler


def test_a_message_is_posted_with_the_page_token_and_its_mid_kept() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"recipient_id": PSID, "message_id": "m_abc"})

    accepted = send(dispatch(), handler)
    assert accepted.native_id == "m_abc"
    [request] = seen
    assert str(request.url) == f"{BASE}/me/messages"
    assert request.headers["authorization"] == "Bearer page-token"
    assert json.loads(request.content) == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "notification_type": "REGULAR",
        "message": {"text": "Hi"},
    }


def test_parts_are_sent_in_order_and_every_mid_is_kept() -> None:
    parts = [{"message": {"attachment": 1}}, {"message": {"text": "2"}}]
    mids = iter(["m_1", "m_2"])
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"recipient_id": PSID, "message_id": next(mids)})

    accepted = send(dispatch(parts), handler)
    assert (accepted.native_id, accepted.extra_native_ids) == ("m_1", ("m_2",))
    assert [b["message"] for b in bodies] == [{"attachment": 1}, {"text": "2"}]
    assert all(b["recipient"] == {"id": PSID} for b in bodies)


def test_a_failing_part_fails_the_message() -> None:
    calls = iter([httpx.Response(200, json={"message_id": "m_1"})])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(calls, None) or graph_error(400, 100, 2018008)(request)

    with pytest.raises(ChannelFailure) as failure:
        send(dispatch([{"message": {"a": 1}}, {"message": {"b": 2}}]), handler)
    assert failure.value.code == "MEDIA_NOT_REACHABLE"


def test_a_later_part_failing_transiently_is_permanent() -> None:
    """The first part went out: a retry would send it again (CHANNELS.md, "Parts")."""
    calls = iter([httpx.Response(200, json={"message_id": "m_1"})])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(calls, None) or httpx.Response(503)

    with pytest.raises(ChannelFailure) as failure:
        send(dispatch([{"message": {"a": 1}}, {"message": {"b": 2}}]), handler)
    assert (failure.value.code, failure.value.transient) == ("CHANNEL_FAILURE", False)
    assert failure.value.description.startswith("part 2 of 2: ")


def never(request: httpx.Request) -> httpx.Response:
    raise AssertionError("no call expected")


@pytest.mark.parametrize("identity", ["", "abc", "+534183549153491", "1" * 33])
def test_an_invalid_psid_fails_without_a_call(identity: str) -> None:
    with pytest.raises(ChannelFailure) as failure:
        send(dispatch(identity=identity), never)
    assert failure.value.code == "RECIPIENT_INVALID_CHANNEL_IDENTITY"
    assert not PLUGIN.identity_is_valid(identity)


def test_a_credential_without_token_is_bad_configuration() -> None:
    with pytest.raises(ChannelFailure) as failure:
        send(dispatch(credential={"channel": "MESSENGER"}), never)
    assert failure.value.code == "CHANNEL_BAD_CONFIGURATION"


# --- the window ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "properties"),
    [
        (None, {}),
        (25, {}),
        (24 * 8, {"MESSENGER_MESSAGE_TAG": "HUMAN_AGENT"}),
    ],
    ids=["never-wrote", "untagged-after-24h", "human-agent-after-7d"],
)
def test_outside_the_window_fails_without_a_call(
    hours: float | None, properties: dict[str, str]
) -> None:
    with pytest.raises(ChannelFailure) as failure:
        send(dispatch(last_inbound_hours=hours, properties=properties), never)
    assert failure.value.code == "OUTSIDE_ALLOWED_SENDING_WINDOW"
    assert not failure.value.transient


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"recipient_id": PSID, "message_id": "m_ok"})


@pytest.mark.parametrize(
    ("hours", "properties", "enforce"),
    [
        (23, {}, True),
        (24 * 6, {"MESSENGER_MESSAGE_TAG": "HUMAN_AGENT"}, True),
        (24 * 30, {"MESSENGER_MESSAGE_TAG": "POST_PURCHASE_UPDATE"}, True),
        (None, {"MESSENGER_MESSAGE_TAG": "ACCOUNT_UPDATE"}, True),
        (None, {}, False),
    ],
)
def test_inside_the_window_tagged_or_unenforced_is_sent(
    hours: float | None, properties: dict[str, str], enforce: bool
) -> None:
    d = dispatch(last_inbound_hours=hours, properties=properties, enforce=enforce)
    assert (send(d, ok)).native_id == "m_ok"


def test_typing_indicators_ignore_the_window() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["sender_action"] == "typing_on"
        return httpx.Response(200, json={"recipient_id": PSID})

    d = dispatch({"sender_action": "typing_on"}, last_inbound_hours=None, kind="event")
    assert (send(d, handler)).native_id.startswith("typing_on:")


# --- error mapping -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "subcode", "message", "reason", "channel_code"),
    [
        (400, 10, 2018278, "(#10) outside window", "OUTSIDE_ALLOWED_SENDING_WINDOW", "10/2018278"),
        (400, 10, 2018065, "(#10) no tag", "OUTSIDE_ALLOWED_SENDING_WINDOW", "10/2018065"),
        (400, 551, None, "(#551) unavailable", "RECIPIENT_NOT_REACHABLE", "551"),
        (400, 551, 1545041, "(#551) unavailable", "RECIPIENT_NOT_REACHABLE", "551/1545041"),
        (400, 200, 1545041, "(#200) deactivated", "RECIPIENT_NOT_REACHABLE", "200/1545041"),
        (400, 100, 2018001, "(#100) No matching user", "RECIPIENT_INVALID_CHANNEL_IDENTITY", None),
        (400, 100, 2018008, "(#100) fetch failed", "MEDIA_NOT_REACHABLE", "100/2018008"),
        (400, 100, 2018047, "(#100) upload failed", "MEDIA_NOT_REACHABLE", "100/2018047"),
        (400, 100, None, "(#100) Attachment size exceeds", "MEDIA_TOO_LARGE", "100"),
        (400, 100, None, "(#100) Invalid parameter", "BAD_REQUEST", "100"),
        (400, 190, 463, "token expired", "CHANNEL_BAD_CONFIGURATION", "190/463"),
        (403, 10, None, "(#10) permission", "CHANNEL_BAD_CONFIGURATION", "10"),
        (403, 200, None, "(#200) permission", "CHANNEL_BAD_CONFIGURATION", "200"),
        (400, 230, None, "(#230) permission", "CHANNEL_BAD_CONFIGURATION", "230"),
    ],
)
def test_permanent_errors(
    status: int,
    code: int,
    subcode: int | None,
    message: str,
    reason: str,
    channel_code: str | None,
) -> None:
    with pytest.raises(ChannelFailure) as failure:
        send(dispatch(), graph_error(status, code, subcode, message))
    assert failure.value.code == reason
    assert not failure.value.transient
    assert failure.value.description == message
    assert failure.value.channel_code == (channel_code or f"{code}/{subcode}")


@pytest.mark.parametrize(
    ("status", "code", "reason"),
    [
        (400, 4, "RATE_LIMITED"),
        (400, 17, "RATE_LIMITED"),
        (400, 32, "RATE_LIMITED"),
        (400, 613, "RATE_LIMITED"),
        (500, 1200, "CHANNEL_FAILURE"),
        (500, 2, "CHANNEL_FAILURE"),
        (500, 1, "CHANNEL_FAILURE"),
    ],
)
def test_transient_errors_honour_retry_after(status: int, code: int, reason: str) -> None:
    with pytest.raises(ChannelFailure) as failure:
        send(dispatch(), graph_error(status, code, **{"Retry-After": "7"}))
    assert failure.value.code == reason
    assert failure.value.transient
    assert failure.value.retry_after == 7


@pytest.mark.parametrize(
    ("status", "reason", "transient"),
    [(503, "CHANNEL_FAILURE", True), (429, "RATE_LIMITED", True), (404, "BAD_REQUEST", False)],
)
def test_errors_without_a_graph_body_map_by_status(
    status: int, reason: str, transient: bool
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text="<html>oops</html>")

    with pytest.raises(ChannelFailure) as failure:
        send(dispatch(), handler)
    assert (failure.value.code, failure.value.transient) == (reason, transient)
    assert failure.value.channel_code == str(status)


def test_timeouts_and_connection_errors_are_transient() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    for handler in (timeout, refused):
        with pytest.raises(ChannelFailure) as failure:
            send(dispatch(), handler)
        assert failure.value.code == "CHANNEL_FAILURE"
        assert failure.value.transient


def test_a_success_without_message_id_is_retried() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"recipient_id": PSID})

    with pytest.raises(ChannelFailure) as failure:
        send(dispatch(), handler)
    assert failure.value.transient


# --- the user profile (contacts:getChannelProfile) -------------------------------------------


def profile_name(handler: Any, psid: str = PSID) -> str | None:
    async def run() -> str | None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            return await PLUGIN.profile_name(http, BASE, CREDENTIAL, psid)

    return asyncio.run(run())


def test_the_user_profile_is_asked_with_the_page_token_and_joined() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"first_name": "Ann", "last_name": " Lee ", "id": PSID})

    assert profile_name(handler) == "Ann Lee"
    assert str(seen[0].url) == f"{BASE}/{PSID}?fields=first_name%2Clast_name"
    assert seen[0].headers["authorization"] == "Bearer page-token"


def test_no_profile_when_the_graph_refuses_or_has_no_name() -> None:
    assert profile_name(graph_error(400, 100, 2018218)) is None
    assert profile_name(lambda _: httpx.Response(200, json={"id": PSID})) is None
    assert profile_name(lambda _: pytest.fail("asked"), psid="not-a-psid") is None


def test_a_graph_api_that_fails_or_does_not_answer_is_a_channel_failure() -> None:
    with pytest.raises(ChannelFailure):
        profile_name(graph_error(500, 2))

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ChannelFailure) as failure:
        profile_name(refuse)
    assert failure.value.transient
