"""Text no database can store (`kit.http.StorableText`): the NUL character, which
PostgreSQL's text and JSON types refuse (it was a 500 there, while SQLite kept it), and lone
surrogates, which are not Unicode. Each is a 400 naming where it is, on both databases, in
the path, the query string, JSON bodies (values and keys, however deep) and form bodies;
surrogate pairs, as JSON encoders write emoji, are text like any other."""

import json
import uuid

import httpx
import pytest

from tests.conftest import Server
from tests.integration.helpers import assert_error, new_app

NUL = "must not contain the NUL character (\\u0000)"
SURROGATE = "must be valid Unicode (it holds a lone surrogate)"


def post_raw(api: httpx.Client, path: str, document: object) -> httpx.Response:
    """POST `document` as JSON written with ASCII escapes only (`\\u0000`, `\\ud800`), as
    many encoders write it."""
    return api.post(
        path,
        content=json.dumps(document, ensure_ascii=True),
        headers={"content-type": "application/json"},
    )


def refused(response: httpx.Response, field: str, description: str) -> None:
    error = assert_error(response, 400, "INVALID_ARGUMENT", field=field)
    assert error["message"] == f"Invalid argument: {field}: {description}"


def contact(**fields: object) -> dict:
    return {
        "channel_identities": [
            {"channel": "SMS", "identity": f"+4670{uuid.uuid4().int % 10**7:07d}"}
        ],
        "language": "EN_US",
        **fields,
    }


def test_a_nul_in_a_json_value_names_its_field(api: httpx.Client) -> None:
    refused(post_raw(api, "/contacts", contact(display_name="Ada\x00")), "display_name", NUL)
    app = {
        "display_name": "nul",
        "channel_credentials": [
            {"channel": "SMS", "static_bearer": {"claimed_identity": "4670", "token": "t\x00"}}
        ],
    }
    refused(post_raw(api, "/apps", app), "channel_credentials[0].static_bearer.token", NUL)


def test_a_nul_in_a_key_names_the_object_that_holds_it(api: httpx.Client) -> None:
    created = api.post("/contacts", json=contact()).json()
    app_id = new_app(api)
    conversation = api.post(
        "/conversations", json={"app_id": app_id, "contact_id": created["id"]}
    ).json()
    response = api.patch(
        f"/conversations/{conversation['id']}",
        content=json.dumps({"metadata_json": {"a\x00": 1}}),
        headers={"content-type": "application/json"},
    )
    refused(response, "metadata_json", f"a key {NUL}")
    # Nothing was changed.
    assert api.get(f"/conversations/{conversation['id']}").json().get("metadata_json") in (
        None,
        {},
    )


def test_a_lone_surrogate_is_refused_and_a_pair_is_an_emoji(api: httpx.Client) -> None:
    body = {
        "app_id": new_app(api),
        "recipient": {"contact_id": "x"},
        "message": {"text_message": {"text": "hi \ud800"}},
    }
    refused(post_raw(api, "/messages:send", body), "message.text_message.text", SURROGATE)
    # `json.dumps` writes 😀 as the pair \ud83d\ude00: one character, stored as written.
    made = post_raw(api, "/contacts", contact(display_name="Ada 😀"))
    assert made.status_code == 200, made.text
    assert api.get(f"/contacts/{made.json()['id']}").json()["display_name"] == "Ada 😀"


def test_a_nul_in_the_path_or_the_query(api: httpx.Client) -> None:
    refused(api.get("/apps/a%00b"), "path", NUL)
    refused(api.get("/contacts", params={"external_id": "a\x00b"}), "external_id", NUL)


def test_a_nul_in_a_form_body(server: Server, api: httpx.Client) -> None:
    app_id = new_app(api)
    response = httpx.post(
        f"{server.url}/inbound/sms/{app_id}",
        data={"type": "mo_text", "body": "a\x00"},
    )
    refused(response, "body", NUL)


def test_credentials_with_a_nul_are_unknown_credentials(server: Server) -> None:
    """Not a field to name: a key id that cannot exist is no key, in each endpoint's shape."""
    token = httpx.post(
        f"{server.url}/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": "k\x00", "client_secret": "s"},
    )
    assert token.status_code == 401, token.text
    assert token.json() == {
        "error": "invalid_client",
        "error_description": "unknown client or wrong secret",
    }
    apps = httpx.get(f"{server.url}/v1/projects/{server.project_id}/apps", auth=("k\x00", "s"))
    assert_error(apps, 401, "UNAUTHENTICATED")


def test_a_channel_webhook_with_a_nul_is_refused_not_failed(
    server: Server, api: httpx.Client
) -> None:
    """A channel retries what failed with a 5xx: a text it cannot store must not look like
    chorus being down."""
    app_id = new_app(api)
    report = {"type": "mo_text", "id": "mo-1", "from": "46700000001", "to": "4670", "body": "\x00"}
    response = httpx.post(
        f"{server.url}/inbound/sms/{app_id}",
        content=json.dumps(report),
        headers={"content-type": "application/json"},
    )
    refused(response, "body", NUL)


@pytest.mark.parametrize("text", ["plain", "naïve ✓", "emoji 🎉 and \\u0000 spelled out"])
def test_ordinary_text_passes(api: httpx.Client, text: str) -> None:
    made = post_raw(api, "/contacts", contact(display_name=text))
    assert made.status_code == 200, made.text
    assert made.json()["display_name"] == text


def test_a_body_past_the_limit_is_a_413_announced_or_streamed(server: Server) -> None:
    """Refused before it is held whole (CHORUS_MAX_REQUEST_BYTES, 4 MiB by default); up to
    the limit a body goes through. Without credentials it is not read at all: a 401."""
    limit = 4 * 1024 * 1024
    url = f"{server.url}/v1/projects/{server.project_id}/apps"
    filler = {"display_name": "big", "x": ""}
    at_limit = json.dumps({**filler, "x": "a" * (limit - len(json.dumps(filler)))}).encode()
    assert len(at_limit) == limit
    auth = (server.key_id, server.key_secret)
    headers = {"content-type": "application/json"}
    # At the limit the route judges it (an app needs credentials).
    through = httpx.post(url, content=at_limit, headers=headers, auth=auth)
    assert_error(through, 400, field="channel_credentials")

    def streamed() -> object:  # no content-length: chunked
        yield at_limit
        yield b" "

    stranger = httpx.post(url, content=at_limit + b" ", headers=headers)
    assert_error(stranger, 401, "UNAUTHENTICATED")
    for body in (at_limit + b" ", streamed()):
        response = httpx.post(url, content=body, headers=headers, auth=auth)
        error = assert_error(response, 413, field="body")
        assert error["details"][0]["field_violations"][0]["description"] == (
            f"must be at most {limit} bytes"
        )
