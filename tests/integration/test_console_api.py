"""What the console adds to the server, over HTTP: the page, the local-mode sign-in (absent
in the production profile), a message's status history and the live stream."""

import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, start_server, stop_server
from tests.integration.helpers import new_app, wait_for


def token_for(server: Server) -> str:
    response = httpx.post(
        f"{server.url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(server.key_id, server.key_secret),
    )
    return response.json()["access_token"]


def test_console_page_is_served_and_root_redirects_to_it(server: Server) -> None:
    page = httpx.get(f"{server.url}/console/")
    assert page.status_code == 200
    assert '<script type="module" src="/console/static/main.js">' in page.text
    assert httpx.get(f"{server.url}/console/static/pages/compose.js").status_code == 200
    root = httpx.get(f"{server.url}/")
    assert root.status_code == 307
    assert root.headers["location"] == "/console/"


def test_local_session_is_a_token_for_the_bootstrap_project(server: Server) -> None:
    session = httpx.get(f"{server.url}/console/session").json()
    assert session["project_id"] == server.project_id
    apps = httpx.get(
        f"{server.url}/v1/projects/{server.project_id}/apps",
        headers={"Authorization": f"Bearer {session['access_token']}"},
    )
    assert apps.status_code == 200


def test_status_history_lists_each_status_with_channel_and_reason(
    server: Server, api: httpx.Client
) -> None:
    app_id = new_app(api)
    number = f"4670{uuid.uuid4().int % 10**7:07d}"
    sent = api.post(
        "/messages:send",
        json={
            "app_id": app_id,
            "recipient": {
                "identified_by": {"channel_identities": [{"channel": "SMS", "identity": number}]}
            },
            "message": {"text_message": {"text": "hi"}},
        },
    ).json()
    extension = f"{server.url}/chorus/v1/projects/{server.project_id}"
    auth = (server.key_id, server.key_secret)

    def delivered() -> list[dict] | None:
        history = httpx.get(
            f"{extension}/messages/{sent['message_id']}/statuses", auth=auth
        ).json()["statuses"]
        return history if history and history[-1]["status"] == "DELIVERED" else None

    history = wait_for(delivered, what="DELIVERED")
    assert [s["status"] for s in history] == ["QUEUED_ON_CHANNEL", "DELIVERED"]
    assert {s["channel"] for s in history} == {"SMS"}
    conversation_id = api.get(f"/messages/{sent['message_id']}").json()["conversation_id"]
    conversation = httpx.get(
        f"{extension}/conversations/{conversation_id}/statuses", auth=auth
    ).json()
    assert conversation["statuses"][sent["message_id"]] == history
    assert conversation["events"] == {}

    # An app event's history: SMS carries no events, so it fails on SMS with the reason.
    event_id = api.post(
        "/events:send",
        json={
            "app_id": app_id,
            "recipient": {
                "contact_id": api.get(f"/messages/{sent['message_id']}").json()["contact_id"]
            },
            "event": {"composing_event": {}},
        },
    ).json()["event_id"]

    def event_history() -> list[dict] | None:
        events = httpx.get(
            f"{extension}/conversations/{conversation_id}/statuses", auth=auth
        ).json()["events"]
        return events.get(event_id)

    [failed] = wait_for(event_history, what="the event's status history")
    assert (failed["status"], failed["channel"]) == ("FAILED", "SMS")
    assert failed["reason"]["code"] == "UNSUPPORTED_OPERATION"

    other = server.other
    refused = httpx.get(
        f"{server.url}/chorus/v1/projects/{other.project_id}/messages/{sent['message_id']}/statuses",
        auth=(other.key_id, other.key_secret),
    )
    assert refused.status_code == 404


def test_stream_needs_a_token_of_the_project_and_sends_cursors(server: Server) -> None:
    url = f"{server.url}/console/api/projects/{server.project_id}/stream"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, params={"access_token": "nonsense"}).status_code == 401
    other = httpx.post(
        f"{server.url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(server.other.key_id, server.other.key_secret),
    ).json()["access_token"]
    assert httpx.get(url, params={"access_token": other}).status_code == 403
    with httpx.stream("GET", url, params={"access_token": token_for(server)}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        assert next(line for line in lines if line.startswith("event:")) == "event: cursors"
        data = next(lines)
        assert data.startswith("data: {") and '"deliveries"' in data


@pytest.fixture(scope="module")
def production() -> Iterator[str]:
    data_dir = Path(tempfile.mkdtemp(prefix="chorus-console-prod-"))
    process, url, _ = start_server(
        f"sqlite:///{data_dir / 'chorus.db'}", data_dir, {"CHORUS_SIMULATOR": "off"}
    )
    try:
        yield url
    finally:
        stop_server(process)


def test_production_profile_has_no_local_sign_in(production: str) -> None:
    assert httpx.get(f"{production}/console/session").status_code == 404
    assert httpx.get(f"{production}/console/").status_code == 200  # the sign-in form


def own_address() -> str | None:
    """This machine's address on its network (not loopback), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_local_sign_in_is_refused_to_other_machines() -> None:
    address = own_address()
    if address is None:
        pytest.skip("this machine has no network address besides loopback")
    data_dir = Path(tempfile.mkdtemp(prefix="chorus-console-net-"))
    process, url, _ = start_server(
        f"sqlite:///{data_dir / 'chorus.db'}", data_dir, {"CHORUS_HOST": "0.0.0.0"}
    )
    try:
        from_network = httpx.get(f"{url.replace('127.0.0.1', address)}/console/session")
        assert from_network.status_code == 403
        assert "access key" in from_network.json()["error"]["message"]
        assert httpx.get(f"{url}/console/session").status_code == 200
    finally:
        stop_server(process)
