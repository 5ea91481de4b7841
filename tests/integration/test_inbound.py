"""`POST /inbound/{channel}/{app_id}`: what it refuses, and what of that it keeps.

Refused requests about an app are kept in `inbound_requests` (listed by the extension API,
swept after 30 days); one naming no app of ours is not: anyone can post here."""

import json

import httpx
import pytest

from tests.conftest import Server
from tests.integration.pipeline_helpers import sms_app


def kept(server: Server, app_id: str) -> list[dict]:
    return server.query(
        "SELECT project_id, channel, outcome, detail FROM inbound_requests WHERE app_id = :a",
        a=app_id,
    )


def test_a_request_for_no_app_of_ours_is_refused_and_not_kept(server: Server) -> None:
    for app_id in ("01NOSUCHAPP0000000000000000", "a" * 300, "%C3%BC"):
        response = httpx.post(f"{server.url}/inbound/sms/{app_id}", content=b"")
        assert response.status_code == 404, response.text
        error = response.json()["error"]
        assert error["status"] == "NOT_FOUND" and "SMS credentials" in error["message"]
        assert kept(server, app_id) == []
    unknown = httpx.post(f"{server.url}/inbound/fax/01NOSUCHAPP0000000000000000", json={})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "no inbound endpoint for channel fax"


def test_a_request_for_a_channel_the_app_lacks_is_refused_and_kept(
    server: Server, api: httpx.Client
) -> None:
    app_id = sms_app(api)
    response = httpx.post(f"{server.url}/inbound/whatsapp/{app_id}", json={"entry": []})
    assert response.status_code == 404, response.text
    assert kept(server, app_id) == [
        {
            "project_id": server.project_id,
            "channel": "WHATSAPP",
            "outcome": "rejected",
            "detail": "the app has no WHATSAPP credential",
        }
    ]


@pytest.mark.parametrize("field", ["id", "from"])
def test_a_native_id_or_identity_no_channel_would_give_is_refused_and_kept(
    server: Server, api: httpx.Client, field: str
) -> None:
    """Wider than chorus keeps (256 characters): a 400 naming the field, never a 500."""
    app_id = sms_app(api)
    mo = {"type": "mo_text", "id": "01MO", "from": "46700000001", "to": "plan", "body": "hi"}
    mo[field] = "4" * 300
    response = httpx.post(f"{server.url}/inbound/sms/{app_id}", json=mo)
    assert response.status_code == 400, response.text
    name = {"id": "native_id", "from": "identity"}[field]
    assert response.json()["error"]["message"] == f"{name} is longer than 256 characters"
    assert [r["outcome"] for r in kept(server, app_id)] == ["rejected"]


def test_what_was_kept_is_listed_newest_first_by_outcome_and_page(
    server: Server, api: httpx.Client
) -> None:
    """`GET /chorus/v1/projects/{p}/apps/{app}/inbound-requests`: why a channel's webhooks
    do not arrive, without reading the database."""
    app_id = sms_app(api)
    refused = httpx.post(f"{server.url}/inbound/whatsapp/{app_id}", json={"first": 1})
    wide = {"type": "mo_text", "id": "4" * 300, "from": "46700000001", "to": "p", "body": "b"}
    too_wide = httpx.post(f"{server.url}/inbound/sms/{app_id}", json=wide)
    assert (refused.status_code, too_wide.status_code) == (404, 400)
    with server.client(prefix="/chorus/v1") as extension:
        listed = extension.get(f"/apps/{app_id}/inbound-requests")
        assert listed.status_code == 200, listed.text
        kept = listed.json()["inbound_requests"]
        assert [(r["channel"], r["outcome"], r["detail"]) for r in kept] == [
            ("SMS", "rejected", "native_id is longer than 256 characters"),
            ("WHATSAPP", "rejected", "the app has no WHATSAPP credential"),
        ]
        assert json.loads(kept[1]["body"]) == {"first": 1} and kept[1]["received_at"]
        assert listed.json()["next_page_token"] == ""

        first = extension.get(f"/apps/{app_id}/inbound-requests", params={"page_size": 1})
        token = first.json()["next_page_token"]
        assert [r["channel"] for r in first.json()["inbound_requests"]] == ["SMS"] and token
        second = extension.get(
            f"/apps/{app_id}/inbound-requests", params={"page_size": 1, "page_token": token}
        )
        assert [r["channel"] for r in second.json()["inbound_requests"]] == ["WHATSAPP"]

        ignored = extension.get(f"/apps/{app_id}/inbound-requests", params={"outcome": "ignored"})
        assert ignored.json()["inbound_requests"] == []
        wrong = extension.get(f"/apps/{app_id}/inbound-requests", params={"outcome": "lost"})
        assert wrong.status_code == 400
        violation = wrong.json()["error"]["details"][0]["field_violations"][0]
        assert violation["field"] == "outcome"
    with server.client(server.other, prefix="/chorus/v1") as other:
        assert other.get(f"/apps/{app_id}/inbound-requests").status_code == 404
