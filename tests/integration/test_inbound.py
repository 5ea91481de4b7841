"""`POST /inbound/{channel}/{app_id}`: what it refuses, and what of that it keeps.

Refused requests about an app are kept in `inbound_requests` (for inspection, swept after 30
days); one naming no app of ours is not: anyone can post here."""

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
