"""Meta's webhook conventions, shared by WhatsApp and Messenger (CHANNELS.md part 1 §2.7,
part 2 §1.7).

Meta signs each webhook with `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw
body keyed with the app secret (the credential's `callback_secret`), compared in constant
time. Without a `callback_secret` webhooks are accepted only while the simulator is on
(Decision 2). Before subscribing a URL Meta checks it with a `GET` handshake
(`hub.mode=subscribe`, `hub.verify_token`, `hub.challenge`).
"""

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from chorus.channels.base import InboundRejected, NativeRequest
from chorus.wire.enums import Channel

SIGNATURE_HEADER = "x-hub-signature-256"


def signature(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature-256` value of `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(
    request: NativeRequest, credential: Mapping[str, Any], channel: Channel, *, simulator_on: bool
) -> None:
    secret = str(credential.get("callback_secret") or "")
    if not secret:
        if simulator_on:
            return
        raise InboundRejected(
            401,
            f"the app's {channel.value} credential has no callback_secret; webhooks are refused",
        )
    given = request.headers.get(SIGNATURE_HEADER, "").strip()
    if not given:
        raise InboundRejected(401, "the X-Hub-Signature-256 header is missing")
    if not hmac.compare_digest(given.lower().encode(), signature(secret, request.body).encode()):
        raise InboundRejected(401, "the X-Hub-Signature-256 signature does not match the body")


def subscription_challenge(
    query: Mapping[str, str], credential: Mapping[str, Any], app_id: str
) -> tuple[int, str]:
    """The answer to Meta's `GET` handshake: (200, hub.challenge) when `hub.mode` is
    `subscribe` and `hub.verify_token` is the callback_secret (the app id without one);
    (403, reason) otherwise."""
    expected = str(credential.get("callback_secret") or "") or app_id
    token = query.get("hub.verify_token", "")
    if query.get("hub.mode") == "subscribe" and hmac.compare_digest(
        token.encode(), expected.encode()
    ):
        return 200, query.get("hub.challenge", "")
    return 403, "hub.mode or hub.verify_token do not match"
