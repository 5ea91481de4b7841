"""The WhatsApp connector against a mocked Cloud API (CHANNELS.md part 1 §2.3, §2.6)."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from chorus.channels.base import ChannelFailure, Dispatch, Transcoded
from chorus.channels.whatsapp.plugin import PLUGIN
from chorus.wire.messages import ReasonCode

BASE = "https://graph.test"
TEXT = {
    "messaging_product": "whatsapp",
    "recipient_type": "individual",
    "type": "text",
    "text": {"body": "hi"},
}
CREDENTIAL = {"channel": "WHATSAPP", "static_bearer": {"claimed_identity": "1065", "token": "tok"}}


def dispatch(native: Any = None, **fields: Any) -> Dispatch:
    values: dict[str, Any] = {
        "project_id": "P",
        "app_id": "A",
        "message_id": "M",
        "identity": "46732000000",
        "credential": CREDENTIAL,
        "transcoded": Transcoded(native=native or TEXT),
        "properties": {},
        "inbound_url": "http://chorus/inbound/whatsapp/A",
        "last_inbound_at": datetime.now(UTC) - timedelta(hours=1),
    }
    values.update(fields)
    return Dispatch(**values)


def send(handler: Any, the_dispatch: Dispatch | None = None) -> Any:
    async def run() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            return await PLUGIN.send(http, BASE, the_dispatch or dispatch())

    return asyncio.run(run())


def graph_error(status: int, code: int | None, details: str = "", **headers: str) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        error: dict[str, Any] = {"message": f"(#{code}) failure", "type": "OAuthException"}
        if code is not None:
            error["code"] = code
        if details:
            error["error_data"] = {"messaging_product": "whatsapp", "details": details}
        return httpx.Response(status, json={"error": error}, headers=headers)

    return handler


def test_sends_to_the_phone_number_with_the_token_and_returns_the_wamid() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "messaging_product": "whatsapp",
                "contacts": [{"input": "46732000000", "wa_id": "46732000000"}],
                "messages": [{"id": "wamid.X"}],
            },
        )

    accepted = send(handler)
    assert accepted.native_id == "wamid.X"
    assert accepted.canonical_identity is None  # WhatsApp knows the number as sent
    request = seen[0]
    assert str(request.url) == f"{BASE}/v21.0/1065/messages"
    assert request.headers["authorization"] == "Bearer tok"
    assert json.loads(request.content) == {**TEXT, "to": "46732000000"}


def test_a_wa_id_other_than_the_number_sent_to_is_the_canonical_identity() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "messaging_product": "whatsapp",
                "contacts": [{"input": "46732000000", "wa_id": "+467320000001"}],
                "messages": [{"id": "wamid.Y"}],
            },
        )

    assert send(handler).canonical_identity == "467320000001"


@pytest.mark.parametrize(
    ("status", "code", "details", "reason", "transient"),
    [
        (401, 190, "", ReasonCode.CHANNEL_BAD_CONFIGURATION, False),
        (403, 10, "", ReasonCode.CHANNEL_BAD_CONFIGURATION, False),
        (403, 200, "", ReasonCode.CHANNEL_BAD_CONFIGURATION, False),
        (400, 133010, "", ReasonCode.CHANNEL_BAD_CONFIGURATION, False),
        (429, 130429, "", ReasonCode.RATE_LIMITED, True),
        (400, 131056, "", ReasonCode.RATE_LIMITED, True),
        (400, 131048, "", ReasonCode.RATE_LIMITED, False),
        (500, 131000, "", ReasonCode.CHANNEL_FAILURE, True),
        (503, 2, "", ReasonCode.CHANNEL_FAILURE, True),
        (400, 100, "", ReasonCode.BAD_REQUEST, False),
        (400, 131009, "", ReasonCode.BAD_REQUEST, False),
        (400, 131021, "", ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY, False),
        (400, 131026, "", ReasonCode.RECIPIENT_NOT_REACHABLE, False),
        (400, 131047, "", ReasonCode.OUTSIDE_ALLOWED_SENDING_WINDOW, False),
        (400, 131050, "", ReasonCode.RECIPIENT_NOT_OPTED_IN, False),
        (400, 368, "", ReasonCode.DELIVERY_REJECTED_DUE_TO_POLICY, False),
        (400, 131052, "", ReasonCode.MEDIA_NOT_REACHABLE, False),
        (400, 131053, "file size exceeds", ReasonCode.MEDIA_TOO_LARGE, False),
        (400, 131053, "unsupported mime", ReasonCode.MEDIA_TYPE_UNSUPPORTED, False),
        (400, 132001, "", ReasonCode.TEMPLATE_NOT_FOUND, False),
        (400, 132000, "", ReasonCode.TEMPLATE_INSUFFICIENT_PARAMETERS, False),
        (400, 132012, "", ReasonCode.BAD_REQUEST, False),
        (400, 424242, "", ReasonCode.CHANNEL_FAILURE, False),
        (502, None, "", ReasonCode.CHANNEL_FAILURE, True),
        (429, None, "", ReasonCode.RATE_LIMITED, True),
    ],
)
def test_graph_errors_map_to_reasons(
    status: int, code: int | None, details: str, reason: ReasonCode, transient: bool
) -> None:
    with pytest.raises(ChannelFailure) as failure:
        send(graph_error(status, code, details))
    assert failure.value.code == reason
    assert failure.value.transient is transient
    assert failure.value.channel_code == str(code if code is not None else status)


def test_retry_after_is_honoured() -> None:
    with pytest.raises(ChannelFailure) as failure:
        send(graph_error(429, 4, **{"retry-after": "7"}))
    assert failure.value.retry_after == 7.0


def test_timeouts_and_connection_errors_are_transient() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    for handler in (timeout, refused):
        with pytest.raises(ChannelFailure) as failure:
            send(handler)
        assert (failure.value.code, failure.value.transient) == (ReasonCode.CHANNEL_FAILURE, True)


def no_call(request: httpx.Request) -> httpx.Response:
    raise AssertionError("no call expected")


def test_invalid_identity_fails_without_a_call() -> None:
    with pytest.raises(ChannelFailure) as failure:
        send(no_call, dispatch(identity="+12"))
    assert failure.value.code == ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY


def test_incomplete_credential_fails_without_a_call() -> None:
    with pytest.raises(ChannelFailure) as failure:
        send(no_call, dispatch(credential={"channel": "WHATSAPP", "static_bearer": {}}))
    assert failure.value.code == ReasonCode.CHANNEL_BAD_CONFIGURATION


@pytest.mark.parametrize("last", [None, datetime.now(UTC) - timedelta(hours=25)])
def test_free_form_outside_the_window_fails_without_a_call(last: datetime | None) -> None:
    with pytest.raises(ChannelFailure) as failure:
        send(no_call, dispatch(last_inbound_at=last))
    assert failure.value.code == ReasonCode.OUTSIDE_ALLOWED_SENDING_WINDOW


def test_templates_and_disabled_windows_go_out() -> None:
    def ok(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"messages": [{"id": "wamid.T"}]})

    template = {
        "messaging_product": "whatsapp",
        "type": "template",
        "template": {"name": "hello", "language": {"code": "en"}},
    }
    assert (send(ok, dispatch(template, last_inbound_at=None))).native_id == "wamid.T"
    assert (send(ok, dispatch(last_inbound_at=None, enforce_windows=False))).native_id


def test_a_200_without_a_message_id_is_a_transient_failure() -> None:
    with pytest.raises(ChannelFailure) as failure:
        send(lambda request: httpx.Response(200, json={}))
    assert failure.value.transient


def test_media_probe_checks_reachability_size_and_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHORUS_MEDIA_PROBE", "on")
    image = {"messaging_product": "whatsapp", "type": "image", "image": {"link": "https://m/a.jpg"}}
    sent: list[dict[str, Any]] = []

    def media(status: int, **headers: str) -> Any:
        def handler(request: httpx.Request) -> httpx.Response:
            if request.method == "HEAD":
                return httpx.Response(status, headers=headers)
            sent.append(json.loads(request.content))
            return httpx.Response(200, json={"messages": [{"id": "wamid.M"}]})

        return handler

    for handler, reason in (
        (media(404), ReasonCode.MEDIA_NOT_REACHABLE),
        (
            media(200, **{"content-type": "image/jpeg", "content-length": str(6 * 2**20)}),
            ReasonCode.MEDIA_TOO_LARGE,
        ),
        (media(200, **{"content-type": "text/html"}), ReasonCode.MEDIA_TYPE_UNSUPPORTED),
    ):
        with pytest.raises(ChannelFailure) as failure:
            send(handler, dispatch(image))
        assert failure.value.code == reason
    send(media(200, **{"content-type": "application/pdf"}), dispatch(image))
    assert sent[-1]["type"] == "document"
    assert sent[-1]["document"] == {"link": "https://m/a.jpg"}
