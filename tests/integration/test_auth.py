"""Authentication (API.md §1.3): the token endpoint, Bearer and Basic, 401 versus 403."""

import time

import httpx
import jwt
import pytest

from tests.integration.helpers import assert_error


def token(server, **form: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/oauth2/token", data=form, auth=(server.key_id, server.key_secret)
    )


def test_token_endpoint_issues_a_one_hour_jwt(server) -> None:
    response = token(server, grant_type="client_credentials")
    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("bearer", 3600, "")
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["project_id"] == server.project_id


def test_token_from_form_fields(server) -> None:
    response = httpx.post(
        f"{server.url}/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": server.key_id,
            "client_secret": server.key_secret,
        },
    )
    assert response.status_code == 200
    assert response.json()["access_token"]


@pytest.mark.parametrize(
    ("form", "auth", "status", "error"),
    [
        ({"grant_type": "password"}, "good", 400, "unsupported_grant_type"),
        ({}, "good", 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, "bad", 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
    ],
)
def test_token_errors_use_the_oauth_shape(server, form, auth, status, error) -> None:
    credentials = {"good": (server.key_id, server.key_secret), "bad": (server.key_id, "wrong")}.get(
        auth
    )
    response = httpx.post(f"{server.url}/oauth2/token", data=form, auth=credentials)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"]


def test_a_basic_header_that_is_not_ascii_is_an_invalid_client(server) -> None:
    response = httpx.post(
        f"{server.url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": b"Basic \xc3\xa9"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_bearer_and_basic_both_work(server) -> None:
    access = token(server, grant_type="client_credentials").json()["access_token"]
    bearer = httpx.get(
        f"{server.url}/v1/projects/{server.project_id}/apps",
        headers={"Authorization": f"Bearer {access}"},
    )
    basic = httpx.get(
        f"{server.url}/v1/projects/{server.project_id}/apps",
        auth=(server.key_id, server.key_secret),
    )
    assert bearer.status_code == basic.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": "Digest abc"},
        {"Authorization": "Basic !!!"},
        {"Authorization": b"Basic \xff\xfe"},  # not ASCII: was a 500
    ],
)
def test_missing_or_bad_credentials_are_401(server, headers) -> None:
    response = httpx.get(f"{server.url}/v1/projects/{server.project_id}/apps", headers=headers)
    assert_error(response, 401, "UNAUTHENTICATED")
    assert "expired" not in response.headers.get("www-authenticate", "")


def test_wrong_basic_secret_is_401(server) -> None:
    response = httpx.get(
        f"{server.url}/v1/projects/{server.project_id}/apps", auth=(server.key_id, "nope")
    )
    assert_error(response, 401, "UNAUTHENTICATED")


def test_expired_token_says_expired_so_sdks_refresh(server) -> None:
    key = server.query("SELECT value FROM server_secrets WHERE name = 'token_signing_key'")[0][
        "value"
    ]
    past = int(time.time()) - 7200
    stale = jwt.encode(
        {"sub": server.key_id, "project_id": server.project_id, "iat": past, "exp": past + 3600},
        key,
        algorithm="HS256",
    )
    response = httpx.get(
        f"{server.url}/v1/projects/{server.project_id}/apps",
        headers={"Authorization": f"Bearer {stale}"},
    )
    assert_error(response, 401, "UNAUTHENTICATED")
    assert "expired" in response.headers["www-authenticate"]


def test_token_signed_with_another_key_is_401(server) -> None:
    forged = jwt.encode(
        {"sub": server.key_id, "project_id": server.project_id, "exp": int(time.time()) + 60},
        "guessing-the-signing-key-of-this-server",
        algorithm="HS256",
    )
    response = httpx.get(
        f"{server.url}/v1/projects/{server.project_id}/apps",
        headers={"Authorization": f"Bearer {forged}"},
    )
    assert_error(response, 401, "UNAUTHENTICATED")


def test_valid_key_on_another_project_is_403(server) -> None:
    response = httpx.get(
        f"{server.url}/v1/projects/{server.other.project_id}/apps",
        auth=(server.key_id, server.key_secret),
    )
    assert_error(response, 403, "PERMISSION_DENIED")


@pytest.mark.parametrize(
    "body",
    [b'{"display_name":', b'{"display_name": "\\u0000"}', b"\xff\xfe", b'{"display_name": "ok"}'],
)
def test_who_calls_is_settled_before_the_body_is_read(server, body: bytes) -> None:
    """Malformed, unstorable or valid: without credentials 401, with another project's key
    403 (they were 400s: the body was parsed first), on every API prefix."""
    headers = {"content-type": "application/json"}
    for prefix in ("/v1", "/v1beta", "/v2", "/chorus/v1"):
        path = f"{server.url}{prefix}/projects/{server.project_id}/apps"
        assert_error(httpx.post(path, content=body, headers=headers), 401, "UNAUTHENTICATED")
        foreign = f"{server.url}{prefix}/projects/{server.other.project_id}/apps"
        refused = httpx.post(
            foreign, content=body, headers=headers, auth=(server.key_id, server.key_secret)
        )
        assert_error(refused, 403, "PERMISSION_DENIED")


def test_health_endpoints_need_no_credentials(server) -> None:
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server.url}/readyz").json() == {"status": "ok"}


def test_v1beta_alias_and_trailing_slash(server) -> None:
    auth = (server.key_id, server.key_secret)
    v1 = httpx.get(f"{server.url}/v1/projects/{server.project_id}/apps", auth=auth).json()
    assert (
        httpx.get(f"{server.url}/v1beta/projects/{server.project_id}/apps", auth=auth).json() == v1
    )
    assert httpx.get(f"{server.url}/v1/projects/{server.project_id}/apps/", auth=auth).json() == v1


def test_unknown_route_is_an_enveloped_404(server) -> None:
    response = httpx.get(
        f"{server.url}/v1/projects/{server.project_id}/nothing-here",
        auth=(server.key_id, server.key_secret),
    )
    assert_error(response, 404, "NOT_FOUND")


def test_a_method_the_resource_lacks_is_an_enveloped_405(server) -> None:
    response = httpx.put(
        f"{server.url}/v1/projects/{server.project_id}/contacts/some-id",
        auth=(server.key_id, server.key_secret),
        json={},
    )
    # grpc-gateway's status for a method a path does not have; the request was well formed.
    assert_error(response, 405, "UNIMPLEMENTED")
