"""`POST /inbound/{channel}/{app_id}`: what it refuses, and what of that it keeps.

Refused requests about an app are kept in `inbound_requests` (for inspection, swept after 30
days); one naming no app of ours is not: anyone can post here."""

import httpx

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
