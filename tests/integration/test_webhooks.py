"""Webhooks over HTTP (API.md §3)."""

import httpx
import pytest

from tests.integration.helpers import assert_error, new_app

TARGET = "https://example.test/callbacks"


def test_create_get_update_delete(api: httpx.Client) -> None:
    app_id = new_app(api)
    created = api.post(
        "/webhooks",
        json={
            "app_id": app_id,
            "target": TARGET,
            "triggers": ["MESSAGE_INBOUND", "MESSAGE_DELIVERY", "MESSAGE_INBOUND"],
            "secret": "s",
            "client_credentials": {
                "client_id": "c",
                "client_secret": "x",
                "endpoint": "https://auth.test/token",
            },
        },
    )
    assert created.status_code == 200, created.text
    webhook = created.json()
    assert webhook["target_type"] == "HTTP"
    assert webhook["triggers"] == ["MESSAGE_INBOUND", "MESSAGE_DELIVERY"]
    assert webhook["client_credentials"]["client_id"] == "c"
    assert api.get(f"/webhooks/{webhook['id']}").json() == webhook
    assert api.get(f"/apps/{app_id}/webhooks").json() == {"webhooks": [webhook]}

    updated = api.patch(
        f"/webhooks/{webhook['id']}",
        params={"update_mask": "triggers,target_type"},
        json={"triggers": ["CONTACT_CREATE"], "target_type": "DISMISS", "secret": "ignored"},
    ).json()
    assert (updated["triggers"], updated["target_type"], updated["secret"]) == (
        ["CONTACT_CREATE"],
        "DISMISS",
        "s",
    )

    assert api.delete(f"/webhooks/{webhook['id']}").json() == {}
    assert_error(api.get(f"/webhooks/{webhook['id']}"), 404, "NOT_FOUND")
    assert api.get(f"/apps/{app_id}/webhooks").json() == {"webhooks": []}


def test_alias_path_creates_for_the_app_in_the_path(api: httpx.Client) -> None:
    app_id = new_app(api)
    webhook = api.post(f"/apps/{app_id}/webhooks", json={"target": TARGET}).json()
    assert webhook["app_id"] == app_id
    assert webhook["triggers"] == []
    assert_error(
        api.post(f"/apps/{app_id}/webhooks", json={"target": TARGET, "app_id": "other"}),
        400,
        field="app_id",
    )


def test_an_app_has_at_most_five_webhooks(api: httpx.Client) -> None:
    app_id = new_app(api)
    for _ in range(5):
        assert api.post("/webhooks", json={"app_id": app_id, "target": TARGET}).status_code == 200
    error = assert_error(
        api.post("/webhooks", json={"app_id": app_id, "target": TARGET}), 400, "FAILED_PRECONDITION"
    )
    assert "5" in error["message"]
    # Moving a webhook onto a full app is refused the same way.
    other = new_app(api)
    webhook = api.post("/webhooks", json={"app_id": other, "target": TARGET}).json()
    assert_error(
        api.patch(f"/webhooks/{webhook['id']}", json={"app_id": app_id}), 400, "FAILED_PRECONDITION"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"target": TARGET}, "app_id"),
        ({"app_id": "APP"}, "target"),
        ({"app_id": "APP", "target": "ftp://x.test/a"}, "target"),
        ({"app_id": "APP", "target": "not a url"}, "target"),
        ({"app_id": "APP", "target": "https://x.test/" + "a" * 742}, "target"),
        ({"app_id": "APP", "target": "https://conversation-api.eu.sinch.com/x"}, "target"),
        ({"app_id": "APP", "target": "https://CONVERSATION-API.us.SINCH.com./x"}, "target"),
        ({"app_id": "APP", "target": "https://conversation-api.eu1.prod.sinch.com/x"}, "target"),
        ({"app_id": "APP", "target": TARGET, "triggers": ["UNSPECIFIED_TRIGGER"]}, "triggers[0]"),
        (
            {"app_id": "APP", "target": TARGET, "triggers": ["MESSAGE_INBOUND", "NOPE"]},
            "triggers[1]",
        ),
        ({"app_id": "APP", "target": TARGET, "target_type": "GRPC"}, "target_type"),
        (
            {"app_id": "APP", "target": TARGET, "client_credentials": {"client_id": "c"}},
            "client_credentials.client_secret",
        ),
    ],
)
def test_create_refuses_bad_fields_naming_them(api: httpx.Client, body: dict, field: str) -> None:
    if body.get("app_id") == "APP":
        body["app_id"] = new_app(api)
    assert_error(api.post("/webhooks", json=body), 400, "INVALID_ARGUMENT", field=field)


def test_a_webhook_may_not_call_this_chorus_back(server, api: httpx.Client) -> None:
    """API.md §3.2: chorus's own public host is forbidden (its callbacks would loop)."""
    app_id = new_app(api)
    own = f"{server.url}/v1/projects/{server.project_id}/apps"
    assert_error(api.post("/webhooks", json={"app_id": app_id, "target": own}), 400, field="target")
    webhook = api.post("/webhooks", json={"app_id": app_id, "target": TARGET}).json()
    assert_error(api.patch(f"/webhooks/{webhook['id']}", json={"target": own}), 400, field="target")
    port = server.url.rsplit(":", 1)[1]
    for alias in ("localhost", "0.0.0.0", "127.0.0.2", "[::1]"):  # this machine, by any name
        aliased = f"http://{alias}:{port}/hook"
        refused = api.post("/webhooks", json={"app_id": app_id, "target": aliased})
        assert_error(refused, 400, field="target")
    other_port = own.replace(f":{port}/", ":9/")
    moved = api.patch(f"/webhooks/{webhook['id']}", json={"target": other_port})
    assert moved.status_code == 200, moved.text


def test_unknown_app_and_webhook(server, api: httpx.Client) -> None:
    assert_error(
        api.post("/webhooks", json={"app_id": "nope", "target": TARGET}), 400, field="app_id"
    )
    assert_error(api.get("/apps/nope/webhooks"), 404, "NOT_FOUND")
    assert_error(api.get("/webhooks/nope"), 404, "NOT_FOUND")
    assert_error(api.patch("/webhooks/nope", json={}), 404, "NOT_FOUND")
    with server.client(server.other) as other:
        foreign_app = new_app(other)
        assert_error(
            api.post("/webhooks", json={"app_id": foreign_app, "target": TARGET}),
            400,
            field="app_id",
        )
