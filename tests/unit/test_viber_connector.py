"""The VIBER connector against a fake Viber REST Bot API (CHANNELS.md part 2 §3.3): the bodies
it sends, what it refuses without a call, media sizes by HEAD, parts, and the status table."""

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from chorus.channels.base import Accepted, ChannelFailure, Dispatch, Transcoded
from chorus.channels.viber.connector import set_webhook
from chorus.channels.viber.plugin import PLUGIN
from chorus.wire.messages import ReasonCode

BASE = "https://viber.test"
TOKEN = "bot-token"
USER = "9KC0p+pi4zPGDO99ACDxoQ=="
CREDENTIAL = {"channel": "VIBER", "static_token": {"token": TOKEN}}
TEXT = {"min_api_version": 1, "sender": {"name": "Acme"}, "type": "text", "text": "Hello"}


def dispatch(native: Any = None, *, identity: str = USER, credential: Any = None) -> Dispatch:
    return Dispatch(
        project_id="p",
        app_id="APP",
        message_id="MSG",
        identity=identity,
        credential=credential or CREDENTIAL,
        transcoded=Transcoded(native=TEXT if native is None else native),
        properties={},
        inbound_url="https://chorus.test/inbound/viber/APP",
    )


class FakeViber:
    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    def sent(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.method == "POST"]


def ok(token: int = 5741311803571721087) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _: httpx.Response(
        200, json={"status": 0, "status_message": "ok", "message_token": token}
    )


def status(code: int, text: str = "err", headers: dict[str, str] | None = None) -> Callable:
    return lambda _: httpx.Response(
        200, json={"status": code, "status_message": text}, headers=headers or {}
    )


def send(fake: FakeViber, item: Dispatch) -> Accepted:
    async def run() -> Accepted:
        async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
            return await PLUGIN.send(http, BASE, item)

    return asyncio.run(run())


def failure(fake: FakeViber, item: Dispatch) -> ChannelFailure:
    with pytest.raises(ChannelFailure) as failed:
        send(fake, item)
    return failed.value


def test_a_text_goes_to_send_message_with_the_auth_token_and_the_receiver() -> None:
    fake = FakeViber(ok())
    assert send(fake, dispatch()) == Accepted(native_id="5741311803571721087")
    request = fake.requests[0]
    assert str(request.url) == f"{BASE}/pa/send_message"
    assert request.headers["x-viber-auth-token"] == TOKEN
    assert fake.sent() == [{**TEXT, "receiver": USER}]


def test_a_missing_sender_name_is_filled_in() -> None:
    fake = FakeViber(ok())
    send(fake, dispatch({"type": "text", "text": "x"}))
    assert fake.sent()[0]["sender"]["name"]
    assert fake.sent()[0]["min_api_version"] == 1


def test_a_long_app_name_as_sender_is_cut_with_an_ellipsis() -> None:
    """Labels are cut to the limit with the last kept character replaced by "…" (CHANNELS.md,
    "Labels vs bodies"; Viber's sender name: 28)."""
    fake = FakeViber(ok())
    job = replace(
        dispatch({"type": "text", "text": "x"}),
        app_display_name="The Very Long Application Display Name",
    )
    send(fake, job)
    assert fake.sent()[0]["sender"]["name"] == "The Very Long Application D\u2026"


def test_an_invalid_identity_fails_without_a_call() -> None:
    fake = FakeViber(ok())
    failed = failure(fake, dispatch(identity="not a viber id!"))
    assert failed.code == ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY
    assert fake.requests == []


def test_a_credential_without_token_is_bad_configuration() -> None:
    fake = FakeViber(ok())
    failed = failure(fake, dispatch(credential={"channel": "VIBER", "static_token": {}}))
    assert failed.code == ReasonCode.CHANNEL_BAD_CONFIGURATION
    assert fake.requests == []


@pytest.mark.parametrize(
    ("code", "reason", "transient"),
    [
        (5, ReasonCode.RECIPIENT_NOT_REACHABLE, False),
        (11, ReasonCode.RECIPIENT_NOT_REACHABLE, False),
        (6, ReasonCode.RECIPIENT_NOT_OPTED_IN, False),
        (3, ReasonCode.BAD_REQUEST, False),
        (4, ReasonCode.BAD_REQUEST, False),
        (13, ReasonCode.BAD_REQUEST, False),
        (14, ReasonCode.BAD_REQUEST, False),
        *[(c, ReasonCode.CHANNEL_BAD_CONFIGURATION, False) for c in (2, 7, 8, 9, 10, 15, 23, 24)],
        (21, ReasonCode.DELIVERY_REJECTED_DUE_TO_POLICY, False),
        (12, ReasonCode.RATE_LIMITED, True),
        (99, ReasonCode.CHANNEL_FAILURE, False),
    ],
)
def test_the_status_table(code: int, reason: ReasonCode, transient: bool) -> None:
    failed = failure(FakeViber(status(code, "native text")), dispatch())
    assert failed.code == reason
    assert failed.transient is transient
    assert failed.channel_code == str(code)
    assert failed.description == "native text"


def test_too_many_requests_honours_retry_after() -> None:
    failed = failure(FakeViber(status(12, "tooManyRequests", {"Retry-After": "7"})), dispatch())
    assert failed.retry_after == 7.0


@pytest.mark.parametrize(
    ("http_status", "reason", "transient"),
    [
        (500, ReasonCode.CHANNEL_FAILURE, True),
        (503, ReasonCode.CHANNEL_FAILURE, True),
        (429, ReasonCode.RATE_LIMITED, True),
        (401, ReasonCode.CHANNEL_BAD_CONFIGURATION, False),
        (400, ReasonCode.BAD_REQUEST, False),
    ],
)
def test_http_errors(http_status: int, reason: ReasonCode, transient: bool) -> None:
    fake = FakeViber(
        lambda _: httpx.Response(http_status, text="nope", headers={"Retry-After": "3"})
    )
    failed = failure(fake, dispatch())
    assert (failed.code, failed.transient) == (reason, transient)
    if transient:
        assert failed.retry_after == 3.0


def test_timeouts_and_connection_errors_are_transient() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    for answer in (timeout, refused):
        failed = failure(FakeViber(answer), dispatch())
        assert failed.code == ReasonCode.CHANNEL_FAILURE and failed.transient


def media_host(
    size: int | None, http_status: int = 200
) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            headers = {"content-length": str(size)} if size is not None else {}
            return httpx.Response(http_status, headers=headers)
        return ok()(request)

    return answer


VIDEO = {
    "min_api_version": 1,
    "sender": {"name": "A"},
    "type": "video",
    "media": "https://cdn.test/v.mp4",
}
FILE = {
    "min_api_version": 1,
    "sender": {"name": "A"},
    "type": "file",
    "media": "https://cdn.test/f.pdf",
    "file_name": "f.pdf",
}


def test_video_and_file_sizes_come_from_a_head_request() -> None:
    for native in (VIDEO, FILE):
        fake = FakeViber(media_host(12345))
        send(fake, dispatch(native))
        assert fake.requests[0].method == "HEAD"
        assert str(fake.requests[0].url) == native["media"]
        assert fake.sent()[0]["size"] == 12345


def test_unreachable_media_fails_without_a_send() -> None:
    for answer in (media_host(10, 404), media_host(None)):
        fake = FakeViber(answer)
        assert failure(fake, dispatch(VIDEO)).code == ReasonCode.MEDIA_NOT_REACHABLE
        assert fake.sent() == []


def test_media_over_the_limit_is_too_large() -> None:
    fake = FakeViber(media_host(26 * 1024 * 1024 + 1))
    assert failure(fake, dispatch(VIDEO)).code == ReasonCode.MEDIA_TOO_LARGE
    assert send(FakeViber(media_host(26 * 1024 * 1024 + 1)), dispatch(FILE))  # files: 50 MB
    fake = FakeViber(media_host(50 * 1024 * 1024 + 1))
    assert failure(fake, dispatch(FILE)).code == ReasonCode.MEDIA_TOO_LARGE


def test_parts_are_sent_in_order_and_every_token_is_kept() -> None:
    tokens = iter([111, 222])
    fake = FakeViber(
        lambda _: httpx.Response(200, json={"status": 0, "message_token": next(tokens)})
    )
    parts = [
        {**TEXT, "text": "Title"},
        {**TEXT, "type": "location", "location": {"lat": 1, "lon": 2}},
    ]
    assert send(fake, dispatch(parts)) == Accepted(native_id="111", extra_native_ids=("222",))
    assert [p["type"] for p in fake.sent()] == ["text", "location"]


def test_a_failing_later_part_is_permanent() -> None:
    answers = iter(
        [{"status": 0, "message_token": 1}, {"status": 12, "status_message": "slow down"}]
    )
    fake = FakeViber(lambda _: httpx.Response(200, json=next(answers)))
    failed = failure(fake, dispatch([TEXT, TEXT]))
    assert failed.code == ReasonCode.RATE_LIMITED
    assert failed.transient is False


def test_set_webhook_registers_the_inbound_url() -> None:
    fake = FakeViber(lambda _: httpx.Response(200, json={"status": 0, "status_message": "ok"}))

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
            await set_webhook(http, BASE, CREDENTIAL, "https://chorus.test/inbound/viber/APP")

    asyncio.run(run())
    assert str(fake.requests[0].url) == f"{BASE}/pa/set_webhook"
    body = fake.sent()[0]
    assert body["url"] == "https://chorus.test/inbound/viber/APP"
    assert body["send_name"] is True and "delivered" in body["event_types"]
