"""Signing callbacks (API.md §8.4).

signature = base64(HMAC-SHA256(key = secret as UTF-8, msg = body + "." + nonce + "." + timestamp))

with the exact body bytes that go on the wire, a fresh nonce (a ULID) and the Unix time in
whole seconds for every attempt. No secret, no signing headers.
"""

import base64
import hashlib
import hmac
import time

from chorus.kit.ids import new_id

SIGNATURE = "x-sinch-webhook-signature"
NONCE = "x-sinch-webhook-signature-nonce"
TIMESTAMP = "x-sinch-webhook-signature-timestamp"
ALGORITHM = "x-sinch-webhook-signature-algorithm"
HMAC_SHA256 = "HmacSHA256"


def signature(body: str, secret: str, nonce: str, timestamp: str) -> str:
    signed = f"{body}.{nonce}.{timestamp}".encode()
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signing_headers(
    body: str, secret: str | None, *, nonce: str | None = None, timestamp: str | None = None
) -> dict[str, str]:
    """The four signing headers for one attempt, or none when no secret applies."""
    if not secret:
        return {}
    nonce = nonce or new_id()
    timestamp = timestamp or str(int(time.time()))
    return {
        SIGNATURE: signature(body, secret, nonce, timestamp),
        TIMESTAMP: timestamp,
        NONCE: nonce,
        ALGORITHM: HMAC_SHA256,
    }
