"""What the console adds to the server, over HTTP: the page, the local-mode sign-in (absent
in the production profile), a message's status history and the live stream."""

import json
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, start_server, stop_server
from tests.integration.helpers import assert_error, new_app, wait_for


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


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8824", "127.0.0.1:8824", "[::1]:8824", "LOCALHOST:1"]
)
def test_local_session_is_given_at_the_names_of_this_machine(server: Server, host: str) -> None:
    response = httpx.get(f"{server.url}/console/session", headers={"Host": host})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "headers",
    [
        # DNS rebinding: another site's name, resolved to 127.0.0.1.
        {"Host": "evil.example:8824"},
        {"Host": "127.0.0.1.evil.example"},
        {"Host": "[::1"},
        # Another site's page asking from the browser.
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://evil.example:8824"},
        {"Origin": "null"},
    ],
)
def test_local_session_is_refused_to_other_sites(server: Server, headers: dict) -> None:
    response = httpx.get(f"{server.url}/console/session", headers=headers)
    error = assert_error(response, 403, "PERMISSION_DENIED")
    assert "access key" in error["message"]
    assert "access_token" not in response.text


def test_local_session_is_given_to_the_console_own_requests(server: Server) -> None:
    port = server.url.rsplit(":", 1)[1]
    for origin in (server.url, f"http://localhost:{port}", f"http://[::1]:{port}"):
        response = httpx.get(
            f"{server.url}/console/session",
            headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"},
        )
        assert response.status_code == 200, (origin, response.text)


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
    # As for a message: an unknown conversation, or another project's, is not found.
    unknown = httpx.get(f"{extension}/conversations/{uuid.uuid4().hex}/statuses", auth=auth)
    assert_error(unknown, 404, "NOT_FOUND")
    elsewhere = httpx.get(
        f"{server.url}/chorus/v1/projects/{server.other.project_id}"
        f"/conversations/{conversation_id}/statuses",
        auth=(server.other.key_id, server.other.key_secret),
    )
    assert_error(elsewhere, 404, "NOT_FOUND")

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


class Cursors:
    """The `cursors` events of one open stream, read as they come."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines

    def next(self) -> dict[str, str]:
        for line in self.lines:
            if line.startswith("data: "):
                return json.loads(line.removeprefix("data: "))
        raise AssertionError("the stream ended")

    def until_moved(self, kind: str, before: dict[str, str]) -> dict[str, str]:
        """The first cursors whose `kind` differs from `before`'s (others may move first:
        the cursors are deployment-wide)."""
        while True:
            now = self.next()
            if now[kind] != before[kind]:
                return now


def watching(server: Server, kind: str, change: Callable[[], None]) -> None:
    """`change()` made while a stream is open moves the `kind` cursor (a stream lasts 10 s:
    a cursor that does not move fails the test when it ends)."""
    url = f"{server.url}/console/api/projects/{server.project_id}/stream"
    params = {"access_token": token_for(server)}
    with httpx.stream("GET", url, params=params, timeout=30) as response:
        cursors = Cursors(response.iter_lines())
        before = cursors.next()
        assert kind in before
        started = time.monotonic()
        change()
        cursors.until_moved(kind, before)
        assert time.monotonic() - started < 9, "the cursor moved only as the stream ended"


def test_contacts_cursor_moves_when_a_contact_is_created_changed_or_deleted(
    server: Server, api: httpx.Client
) -> None:
    identity = {"channel": "SMS", "identity": f"4670{uuid.uuid4().int % 10**7:07d}"}
    created: dict[str, str] = {}

    def create() -> None:
        response = api.post("/contacts", json={"channel_identities": [identity]})
        assert response.status_code == 200, response.text
        created.update(response.json())

    watching(server, "contacts", create)
    path = f"/contacts/{created['id']}"
    # A new name: no count or id moves.
    watching(
        server,
        "contacts",
        lambda: api.patch(path, json={"display_name": "Renamed"}).raise_for_status(),
    )
    other = {"channel": "SMS", "identity": f"4670{uuid.uuid4().int % 10**7:07d}"}
    watching(
        server,
        "contacts",
        lambda: api.patch(path, json={"channel_identities": [other]}).raise_for_status(),
    )
    watching(server, "contacts", lambda: api.delete(path).raise_for_status())


def test_handsets_cursor_moves_when_a_handset_setting_changes(server: Server) -> None:
    handset = f"{server.url}/simulator/v1/handsets/sms/4670{uuid.uuid4().int % 10**7:07d}"
    httpx.patch(handset, json={}).raise_for_status()  # the handset exists before the stream
    for change in ({"reachable": False}, {"fail_next": 406}, {"fail_next": None}):
        watching(
            server, "handsets", lambda c=change: httpx.patch(handset, json=c).raise_for_status()
        )


def test_production_profile_has_no_local_sign_in(production_server: str) -> None:
    assert httpx.get(f"{production_server}/console/session").status_code == 404
    assert httpx.get(f"{production_server}/console/").status_code == 200  # the sign-in form


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
