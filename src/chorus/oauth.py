"""`POST /oauth2/token`: the client-credentials grant (API.md §1.3.1).

Errors here use OAuth2's own shape (`{"error", "error_description"}`), not the API envelope,
because that is what both SDKs read from a token endpoint.
"""

import math
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from chorus.kit.auth import Authenticator, authenticator, decode_basic
from chorus.kit.errors import ApiError

router = APIRouter(tags=["auth"])


def oauth_error(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    if status == 401:
        headers = {"WWW-Authenticate": 'Basic realm="chorus"'}
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


@router.post("/oauth2/token")
async def issue_token(
    request: Request, auth: Authenticator = Depends(authenticator)
) -> JSONResponse:
    try:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
    except UnicodeDecodeError:
        return oauth_error(400, "invalid_request", "the body must be form-encoded UTF-8")
    if form.get("grant_type") != "client_credentials":
        return oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials")
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            key_id, key_secret = decode_basic(header[6:].strip())
        except ApiError:
            return oauth_error(401, "invalid_client", "malformed Basic credentials")
    else:
        key_id, key_secret = form.get("client_id", ""), form.get("client_secret", "")
    if not key_id or not key_secret:
        return oauth_error(401, "invalid_client", "client credentials are required")
    caller = await auth.check_key(key_id, key_secret)
    if caller is None:
        return oauth_error(401, "invalid_client", "unknown client or wrong secret")
    # A token is a request of its project like any other (API.md §1.4: the token endpoint
    # has a rate limit): one budget, so fetching tokens cannot get round the API's rate.
    wait = await request.app.state.request_limiter.retry_after(caller.project_id)
    if wait > 0:
        # RFC 6749 §4.1.2.1's code for an overloaded server; the Node SDK retries a 429 after
        # Retry-After.
        return oauth_error(
            429,
            "temporarily_unavailable",
            f"project {caller.project_id} is over its request rate; retry in {wait:.3f}s",
            {"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return JSONResponse(
        {
            "access_token": auth.issue_token(caller),
            "expires_in": auth.token_ttl,
            "scope": "",
            "token_type": "bearer",
        },
        headers={"Cache-Control": "no-store"},
    )
