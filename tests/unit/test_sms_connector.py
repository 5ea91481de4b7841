"""The SMS connector against a fake XMS (CHANNELS.md part 1 §1.3): the batch it sends, what it
refuses without a call, and how every native answer maps to a reason."""

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from chorus.channels.base import Accepted, ChannelFailure, Dispatch, Transcoded
from chorus.channels.sms.connector import retry_after
from chorus.channels.sms.plugin import SmsChannel
from chorus.wire.messages import ReasonCode

BASE = "https://xms.test"
PLAN = "plan123"
TOKEN = "secret-token"
CREDENTIAL = {
    "channel": "SMS",
    "static_bearer": {"claimed_identity": PLAN, "token": TOKEN},
    "callback_secret": "",
}
SMS = SmsChannel()


def dispatch(
    body: str = "Hello",
    *,
    identity: str = "46700000001",
    credential: dict[str, Any] | None = None,
    properties: dict[str, str] | None = None,
) -> Dispatch:
    return Dispatch(
        project_id="p",
        app_id="APP",
        message_id="MSGID",
        identity=identity,
        credential=credential or CREDENTIAL,
        transcoded=Transcoded(native=body),
        properties=properties or {},
        inbound_url="https://chorus.test/inbound/sms/APP",
    )


class FakeXms:
    """Records requests and answers with `answer(request)`."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)


def send(fake: FakeXms, item: Dispatch) -> Accepted:
    async def run() -> Accepted:
        async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
            return await SMS.send(http, BASE, item)

    return asyncio.run(run())


def created(request: httpx.Request) -> httpx.Response:
    return httpx.Response(201, json={**json.loads(request.content), "id": "BATCH1"})


def failure_for(response: httpx.Response, item: Dispatch | None = None) -> ChannelFailure:
    fake = FakeXms(lambda _: response)
    with pytest.raises(ChannelFailure) as caught:
        send(fake, item or dispatch())
    assert len(fake.requests) == 1
    return caught.value


def refused_without_call(item: Dispatch) -> ChannelFailure:
    fake = FakeXms(created)
    with pytest.raises(ChannelFailure) as caught:
        send(fake, item)
    assert fake.requests == []
    return caught.value


# --- the batch -------------------------------------------------------------------------------


def test_success_posts_the_batch_with_the_plan_token_and_returns_the_batch_id() -> None:
    fake = FakeXms(created)
    accepted = send(fake, dispatch("What do you want to do?\n1. Yes\n2. No"))
    assert accepted == Accepted(native_id="BATCH1")
    (request,) = fake.requests
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/xms/v1/{PLAN}/batches"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {
        "to": ["46700000001"],
        "body": "What do you want to do?\n1. Yes\n2. No",
        "type": "mt_text",
        "delivery_report": "per_recipient",
        "callback_url": "https://chorus.test/inbound/sms/APP",
        "client_reference": "MSGID",
    }


def test_channel_properties_set_sender_flash_and_parts_limit() -> None:
    fake = FakeXms(created)
    send(
        fake,
        dispatch(
            properties={
                "SMS_SENDER": "Acme",
                "SMS_FLASH_MESSAGE": "TRUE",
                "SMS_MAX_NUMBER_OF_MESSAGE_PARTS": "3",
            }
        ),
    )
    batch = json.loads(fake.requests[0].content)
    assert batch["from"] == "Acme"
    assert batch["flash_message"] is True
    assert batch["max_number_of_message_parts"] == 3
    assert next(iter(batch)) == "from"


def test_flash_message_false_is_sent_as_false() -> None:
    fake = FakeXms(created)
    send(fake, dispatch(properties={"SMS_FLASH_MESSAGE": "false"}))
    assert json.loads(fake.requests[0].content)["flash_message"] is False


def test_base_url_trailing_slash_is_ignored() -> None:
    fake = FakeXms(created)

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
            await SMS.send(http, BASE + "/", dispatch())

    asyncio.run(run())
    assert str(fake.requests[0].url) == f"{BASE}/xms/v1/{PLAN}/batches"


# --- refused without a call -------------------------------------------------------------------


def test_sms_credentials_form_is_a_bad_configuration() -> None:
    failure = refused_without_call(
        dispatch(credential={"channel": "SMS", "sms_credentials": {"sms_app_id": "x"}})
    )
    assert failure.code == ReasonCode.CHANNEL_BAD_CONFIGURATION
    assert not failure.transient


@pytest.mark.parametrize("identity", ["+46700000001", "0046700000001", "123", "abc", ""])
def test_invalid_identity_fails_without_a_call(identity: str) -> None:
    failure = refused_without_call(dispatch(identity=identity))
    assert failure.code == ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY


def test_body_over_2000_characters_is_a_bad_request() -> None:
    failure = refused_without_call(dispatch("x" * 2001))
    assert failure.code == ReasonCode.BAD_REQUEST
    fake = FakeXms(created)
    send(fake, dispatch("x" * 2000))
    assert len(fake.requests) == 1


def test_more_parts_than_allowed_requires_a_split() -> None:
    limit = {"SMS_MAX_NUMBER_OF_MESSAGE_PARTS": "1"}
    failure = refused_without_call(dispatch("x" * 161, properties=limit))
    assert failure.code == ReasonCode.MESSAGE_SPLIT_REQUIRED
    fake = FakeXms(created)
    send(fake, dispatch("x" * 160, properties=limit))
    assert len(fake.requests) == 1


def test_unicode_bodies_count_ucs2_parts() -> None:
    failure = refused_without_call(
        dispatch("ж" * 71, properties={"SMS_MAX_NUMBER_OF_MESSAGE_PARTS": "1"})
    )
    assert failure.code == ReasonCode.MESSAGE_SPLIT_REQUIRED


# --- native errors ---------------------------------------------------------------------------


def xms_error(status: int, code: str, text: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "text": text})


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (
            xms_error(400, "syntax_invalid_parameter_format", "Invalid format of parameter 'to'"),
            ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY,
        ),
        (
            xms_error(400, "syntax_invalid_parameter_format", "Invalid format of 'callback_url'"),
            ReasonCode.BAD_REQUEST,
        ),
        (xms_error(400, "syntax_invalid_json", "Invalid JSON"), ReasonCode.BAD_REQUEST),
        (xms_error(400, "syntax_constraint_violation", "body too long"), ReasonCode.BAD_REQUEST),
        (xms_error(401, "unauthorized", "Bad token"), ReasonCode.CHANNEL_BAD_CONFIGURATION),
        (
            xms_error(403, "blocked_account", "Account blocked"),
            ReasonCode.CHANNEL_BAD_CONFIGURATION,
        ),
        (
            xms_error(403, "missing_callback_url", "No callback URL"),
            ReasonCode.CHANNEL_BAD_CONFIGURATION,
        ),
        (
            xms_error(403, "illegal_number_type", "Illegal number type"),
            ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY,
        ),
        (httpx.Response(404), ReasonCode.CHANNEL_BAD_CONFIGURATION),
    ],
)
def test_permanent_native_errors_map_by_the_table(
    response: httpx.Response, reason: ReasonCode
) -> None:
    failure = failure_for(response)
    assert failure.code == reason
    assert not failure.transient
    body = response.json() if response.content else {}
    assert failure.channel_code == body.get("code", str(response.status_code))
    if body:
        assert failure.description == body["text"]
    assert failure.reason()["channel_code"] == failure.channel_code


def test_429_is_rate_limited_and_honours_retry_after() -> None:
    failure = failure_for(
        httpx.Response(429, headers={"Retry-After": "7"}, json={"code": "x", "text": "slow"})
    )
    assert (failure.code, failure.transient, failure.retry_after) == (
        ReasonCode.RATE_LIMITED,
        True,
        7.0,
    )
    assert failure_for(httpx.Response(429)).retry_after is None


def test_retry_after_accepts_an_http_date() -> None:
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after("soon") is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient_channel_failures(status: int) -> None:
    failure = failure_for(httpx.Response(status, text="oops"))
    assert (failure.code, failure.transient) == (ReasonCode.CHANNEL_FAILURE, True)
    assert failure.channel_code == str(status)


@pytest.mark.parametrize(
    "error", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.ConnectTimeout("x")]
)
def test_network_errors_are_transient_channel_failures(error: Exception) -> None:
    def fail(_: httpx.Request) -> httpx.Response:
        raise error

    with pytest.raises(ChannelFailure) as caught:
        send(FakeXms(fail), dispatch())
    assert (caught.value.code, caught.value.transient) == (ReasonCode.CHANNEL_FAILURE, True)


def test_success_without_a_batch_id_is_a_transient_failure() -> None:
    failure = failure_for(httpx.Response(201, json={}))
    assert (failure.code, failure.transient) == (ReasonCode.CHANNEL_FAILURE, True)
