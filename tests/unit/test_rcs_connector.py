"""The RCS connector against a fake RBM (CHANNELS.md part 1 §3.3): the request it makes, what
it refuses without a call, and how every native answer maps to a reason."""

import asyncio
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from chorus.channels.base import Accepted, ChannelFailure, Dispatch, Transcoded
from chorus.channels.rcs.plugin import PLUGIN
from chorus.wire.messages import ReasonCode

BASE = "https://rbm.test"
AGENT = "acme_agent"
TOKEN = "access-token"
CREDENTIAL = {"channel": "RCS", "static_bearer": {"claimed_identity": AGENT, "token": TOKEN}}
BODY = {"contentMessage": {"text": "Hello"}}


def dispatch(
    *,
    identity: str = "46700000001",
    credential: dict[str, Any] | None = None,
    kind: str = "message",
) -> Dispatch:
    return Dispatch(
        project_id="p",
        app_id="APP",
        message_id="MSGID",
        identity=identity,
        credential=credential or CREDENTIAL,
        transcoded=Transcoded(native=BODY if kind == "message" else {"eventType": "IS_TYPING"}),
        properties={},
        inbound_url="https://chorus.test/inbound/rcs/APP",
        kind=kind,
    )


class FakeRbm:
    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)


def send(fake: FakeRbm, item: Dispatch) -> Accepted:
    async def run() -> Accepted:
        async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
            return await PLUGIN.send(http, BASE, item)

    return asyncio.run(run())


def google_error(code: int, status: str, message: str, **headers: str) -> FakeRbm:
    body = {"error": {"code": code, "message": message, "status": status}}
    return FakeRbm(lambda _: httpx.Response(code, json=body, headers=headers))


def failure(fake: FakeRbm, item: Dispatch | None = None) -> ChannelFailure:
    with pytest.raises(ChannelFailure) as caught:
        send(fake, item or dispatch())
    return caught.value


def test_a_message_is_posted_to_agent_messages_with_the_bearer_token() -> None:
    answer = {"name": "phones/+46700000001/agentMessages/MSGID", "sendTime": "x"}
    fake = FakeRbm(lambda _: httpx.Response(200, json=answer))
    assert send(fake, dispatch()) == Accepted(native_id="MSGID")
    (request,) = fake.requests
    assert request.method == "POST"
    assert request.url.path == "/v1/phones/+46700000001/agentMessages"
    assert dict(request.url.params) == {"messageId": "MSGID", "agentId": AGENT}
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert json.loads(request.content) == BODY


def test_a_delivery_timeout_is_sent_as_the_messages_ttl() -> None:
    fake = FakeRbm(lambda _: httpx.Response(200, json={"name": "x"}))
    send(fake, replace(dispatch(), delivery_timeout=90.5))
    assert json.loads(fake.requests[0].content) == {**BODY, "ttl": "90.5s"}
    # Two weeks: a Duration in plain digits (format "g" wrote 1.2096e+06s).
    send(fake, replace(dispatch(), delivery_timeout=1_209_600.0))
    assert json.loads(fake.requests[1].content)["ttl"] == "1209600s"


def revoke(fake: FakeRbm) -> bool:
    async def run() -> bool:
        async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
            return await PLUGIN.revoke(http, BASE, CREDENTIAL, "46700000001", "MSGID")

    return asyncio.run(run())


def test_revocation_deletes_the_agent_message_and_tells_revoked_from_delivered() -> None:
    fake = FakeRbm(lambda _: httpx.Response(200, json={}))
    assert revoke(fake) is True
    (request,) = fake.requests
    assert request.method == "DELETE"
    assert request.url.path == "/v1/phones/+46700000001/agentMessages/MSGID"
    assert dict(request.url.params) == {"agentId": AGENT}
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert revoke(google_error(404, "NOT_FOUND", "Requested entity was not found.")) is False
    with pytest.raises(ChannelFailure) as unavailable:
        revoke(google_error(503, "UNAVAILABLE", "The service is unavailable."))
    assert unavailable.value.transient


def test_an_event_is_posted_to_agent_events() -> None:
    fake = FakeRbm(lambda _: httpx.Response(200, json={"name": "x"}))
    send(fake, dispatch(kind="event"))
    (request,) = fake.requests
    assert request.url.path == "/v1/phones/+46700000001/agentEvents"
    assert dict(request.url.params) == {"eventId": "MSGID", "agentId": AGENT}
    assert json.loads(request.content) == {"eventType": "IS_TYPING"}


def test_already_exists_means_the_earlier_send_stands() -> None:
    fake = google_error(409, "ALREADY_EXISTS", "Requested entity already exists")
    assert send(fake, dispatch()) == Accepted(native_id="MSGID")


def test_an_invalid_identity_fails_without_a_call() -> None:
    fake = FakeRbm(lambda _: httpx.Response(200, json={}))
    caught = failure(fake, dispatch(identity="0123"))
    assert caught.code == ReasonCode.RECIPIENT_INVALID_CHANNEL_IDENTITY
    assert fake.requests == []


def test_an_incomplete_credential_fails_without_a_call() -> None:
    fake = FakeRbm(lambda _: httpx.Response(200, json={}))
    credential = {"channel": "RCS", "static_bearer": {"claimed_identity": AGENT, "token": ""}}
    caught = failure(fake, dispatch(credential=credential))
    assert caught.code == ReasonCode.CHANNEL_BAD_CONFIGURATION
    assert fake.requests == []


@pytest.mark.parametrize(
    ("code", "status", "message", "reason", "transient"),
    [
        (404, "NOT_FOUND", "Requested entity was not found.", "RECIPIENT_NOT_REACHABLE", False),
        (
            400,
            "INVALID_ARGUMENT",
            "Invalid phone number",
            "RECIPIENT_INVALID_CHANNEL_IDENTITY",
            False,
        ),
        (400, "INVALID_ARGUMENT", "Unable to fetch file at file_url", "MEDIA_NOT_REACHABLE", False),
        (
            400,
            "INVALID_ARGUMENT",
            "Unsupported file type image/tiff",
            "MEDIA_TYPE_UNSUPPORTED",
            False,
        ),
        (400, "INVALID_ARGUMENT", "suggestions: at most 11", "BAD_REQUEST", False),
        (
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication",
            "CHANNEL_BAD_CONFIGURATION",
            False,
        ),
        (
            403,
            "PERMISSION_DENIED",
            "The caller does not have permission",
            "CHANNEL_BAD_CONFIGURATION",
            False,
        ),
        (429, "RESOURCE_EXHAUSTED", "Resource has been exhausted", "RATE_LIMITED", True),
        (500, "INTERNAL", "Internal error encountered.", "CHANNEL_FAILURE", True),
        (503, "UNAVAILABLE", "The service is currently unavailable.", "CHANNEL_FAILURE", True),
        (504, "DEADLINE_EXCEEDED", "Deadline expired", "CHANNEL_FAILURE", True),
    ],
)
def test_native_errors_map_to_reasons(
    code: int, status: str, message: str, reason: str, transient: bool
) -> None:
    caught = failure(google_error(code, status, message))
    assert caught.code == ReasonCode(reason)
    assert caught.transient is transient
    assert caught.channel_code == status
    assert caught.description == message


def test_rate_limiting_honours_retry_after() -> None:
    caught = failure(google_error(429, "RESOURCE_EXHAUSTED", "slow down", **{"Retry-After": "7"}))
    assert caught.transient and caught.retry_after == 7.0


def test_an_error_without_a_google_body_uses_the_http_status() -> None:
    caught = failure(FakeRbm(lambda _: httpx.Response(502, text="Bad gateway")))
    assert caught.code == ReasonCode.CHANNEL_FAILURE and caught.transient
    assert caught.channel_code == "502"


def test_timeouts_and_connection_errors_are_transient() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    for answer in (timeout, refused):
        caught = failure(FakeRbm(answer))
        assert caught.code == ReasonCode.CHANNEL_FAILURE and caught.transient


def test_a_service_account_key_that_cannot_sign_is_a_bad_configuration() -> None:
    key = json.dumps(
        {"client_email": "a@b.iam", "private_key": "not a key", "token_uri": "https://t.test"}
    )
    credential = {"channel": "RCS", "static_bearer": {"claimed_identity": AGENT, "token": key}}
    fake = FakeRbm(lambda _: httpx.Response(200, json={}))
    caught = failure(fake, dispatch(credential=credential))
    assert caught.code == ReasonCode.CHANNEL_BAD_CONFIGURATION
    assert fake.requests == []


def test_a_service_account_key_mints_a_cached_access_token(monkeypatch: pytest.MonkeyPatch) -> None:
    import jwt

    monkeypatch.setattr(jwt, "encode", lambda claims, key, **kw: f"signed-{claims['scope']}")
    key = json.dumps(
        {
            "client_email": "svc@x.iam",
            "private_key": "k",
            "private_key_id": "kid1",
            "token_uri": "https://oauth.test/token",
        }
    )
    credential = {"channel": "RCS", "static_bearer": {"claimed_identity": AGENT, "token": key}}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "oauth.test":
            form = dict(httpx.QueryParams(request.content.decode()))
            assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
            assert form["assertion"].endswith("rcsbusinessmessaging")
            return httpx.Response(200, json={"access_token": "minted", "expires_in": 3600})
        return httpx.Response(200, json={})

    fake = FakeRbm(answer)
    send(fake, dispatch(credential=credential))
    send(fake, dispatch(credential=credential))
    hosts = [r.url.host for r in fake.requests]
    assert hosts == ["oauth.test", "rbm.test", "rbm.test"]
    assert fake.requests[1].headers["authorization"] == "Bearer minted"
