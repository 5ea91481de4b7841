"""Signing (API.md §8.4), checked against the formula, the SDK vector and the Python SDK."""

import base64
import hashlib
import hmac

from sinch.domains.conversation.sinch_events.v1.conversation_sinch_event import (
    ConversationSinchEvent,
)

from chorus.callbacks.body import serialize
from chorus.callbacks.signing import signature, signing_headers
from tests.callbacks.test_body import SMS_REPORT

SECRET = "SMSWebhooksSecret"
NONCE = "01JHFFHWYY7HSS4FWTMDTQEK8V"
TIMESTAMP = "1736760161"
VECTOR_SIGNATURE = "ZoHei66PPN/kZjw7hFVfGhJOnml3iGNCMWoyQVcE5o0="


def test_signature_follows_the_formula() -> None:
    body = '{"a":"é"}'
    expected = base64.b64encode(
        hmac.new(
            SECRET.encode("utf-8"), f"{body}.{NONCE}.{TIMESTAMP}".encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert signature(body, SECRET, NONCE, TIMESTAMP) == expected


def test_signature_matches_the_sdk_test_vector() -> None:
    body = serialize(SMS_REPORT)
    assert signature(body, SECRET, NONCE, TIMESTAMP) == VECTOR_SIGNATURE


def test_headers_carry_seconds_a_ulid_nonce_and_the_algorithm() -> None:
    headers = signing_headers("{}", "s3cret")
    assert set(headers) == {
        "x-sinch-webhook-signature",
        "x-sinch-webhook-signature-nonce",
        "x-sinch-webhook-signature-timestamp",
        "x-sinch-webhook-signature-algorithm",
    }
    assert headers["x-sinch-webhook-signature-timestamp"].isdigit()
    assert len(headers["x-sinch-webhook-signature-timestamp"]) == 10
    assert len(headers["x-sinch-webhook-signature-nonce"]) == 26
    assert headers["x-sinch-webhook-signature-algorithm"] == "HmacSHA256"


def test_every_call_gets_a_fresh_nonce() -> None:
    first, second = signing_headers("{}", "s"), signing_headers("{}", "s")
    assert first["x-sinch-webhook-signature-nonce"] != second["x-sinch-webhook-signature-nonce"]


def test_no_secret_no_headers() -> None:
    assert signing_headers("{}", "") == {}
    assert signing_headers("{}", None) == {}


def test_python_sdk_validator_accepts_chorus_signatures() -> None:
    body = serialize({"app_id": "A", "contact_create_notification": {"contact": {"n": "Zoë/1"}}})
    headers = signing_headers(body, "my-secret")
    assert ConversationSinchEvent("my-secret").validate_authentication_header(headers, body)
    assert ConversationSinchEvent("my-secret").validate_authentication_header(
        headers, body.encode("utf-8")
    )
    assert not ConversationSinchEvent("other").validate_authentication_header(headers, body)


def test_python_sdk_validator_accepts_the_vector() -> None:
    headers = signing_headers(serialize(SMS_REPORT), SECRET, nonce=NONCE, timestamp=TIMESTAMP)
    assert headers["x-sinch-webhook-signature"] == VECTOR_SIGNATURE
    assert ConversationSinchEvent(SECRET).validate_authentication_header(
        headers, serialize(SMS_REPORT)
    )
