"""Changes to one resource sent at once (on PostgreSQL they run truly concurrently): updates
and deletes of an app, a webhook, a contact, a message or an event take turns, so each answers
200 or, after the delete, 404 — never a 500 (an update whose row a delete had just removed, or
two contact updates replacing the same identities, deadlocked) — exactly one delete wins, and a
deleted resource stays deleted."""

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import httpx
import pytest

from tests.conftest import Server
from tests.integration.helpers import new_app, wait_for

Call = Callable[[httpx.Client], httpx.Response]


def at_once(server: Server, calls: list[tuple[str, Call]]) -> dict[str, list[int]]:
    """Run every call on a client of its own, all together; status codes by call name."""

    def run(call: Call) -> int:
        with server.client() as client:
            return call(client).status_code

    with ThreadPoolExecutor(len(calls)) as pool:
        codes = list(pool.map(run, [call for _, call in calls]))
    answered: dict[str, list[int]] = {}
    for (name, _), code in zip(calls, codes, strict=True):
        answered.setdefault(name, []).append(code)
    return answered


def assert_turns_were_taken(answered: dict[str, list[int]]) -> None:
    assert set(answered["update"]) <= {200, 404}, answered
    assert sorted(answered["delete"]) == [200] + [404] * (len(answered["delete"]) - 1), answered


def new_number() -> str:
    return f"4670{uuid.uuid4().int % 10**7:07d}"


def to_sms(number: str) -> dict:
    return {"identified_by": {"channel_identities": [{"channel": "SMS", "identity": number}]}}


def send_text(client: httpx.Client, app_id: str, number: str) -> httpx.Response:
    return client.post(
        "/messages:send",
        json={
            "app_id": app_id,
            "recipient": to_sms(number),
            "message": {"text_message": {"text": "changed at once"}},
        },
    )


def updated_and_deleted(
    server: Server, path: str, update: Callable[[int], dict]
) -> dict[str, list[int]]:
    """Six PATCHes (bodies `update(0..5)`) and three DELETEs of `path`, all at once."""
    return at_once(
        server,
        [
            *(("update", lambda c, i=i: c.patch(path, json=update(i))) for i in range(6)),
            *(("delete", lambda c: c.delete(path)) for _ in range(3)),
        ],
    )


def test_an_app_updated_and_deleted_at_once(server: Server, api: httpx.Client) -> None:
    app_id = new_app(api)
    answered = updated_and_deleted(server, f"/apps/{app_id}", lambda i: {"display_name": f"a{i}"})
    assert_turns_were_taken(answered)
    assert api.get(f"/apps/{app_id}").status_code == 404


def test_a_webhook_updated_and_deleted_at_once(server: Server, api: httpx.Client) -> None:
    app_id = new_app(api)
    webhook = api.post(
        "/webhooks",
        json={"app_id": app_id, "target": "http://127.0.0.1:9/h", "triggers": ["MESSAGE_INBOUND"]},
    ).json()["id"]
    answered = updated_and_deleted(
        server, f"/webhooks/{webhook}", lambda i: {"target": f"http://127.0.0.1:9/h{i}"}
    )
    assert_turns_were_taken(answered)
    assert api.get(f"/webhooks/{webhook}").status_code == 404


def test_a_contact_updated_and_deleted_at_once(server: Server, api: httpx.Client) -> None:
    contact = api.post(
        "/contacts",
        json={
            "channel_identities": [{"channel": "SMS", "identity": f"+{new_number()}"}],
            "language": "EN_US",
        },
    ).json()["id"]
    answered = updated_and_deleted(
        server,
        f"/contacts/{contact}",
        lambda i: {
            "display_name": f"n{i}",
            "channel_identities": [{"channel": "SMS", "identity": f"+{new_number()}"}],
        },
    )
    assert_turns_were_taken(answered)
    assert api.get(f"/contacts/{contact}").status_code == 404


def test_a_message_updated_and_deleted_at_once(server: Server, api: httpx.Client) -> None:
    message = send_text(api, new_app(api), new_number()).json()["message_id"]
    answered = updated_and_deleted(server, f"/messages/{message}", lambda i: {"metadata": f"m{i}"})
    assert_turns_were_taken(answered)
    assert api.get(f"/messages/{message}").status_code == 404


def test_sends_while_their_app_is_deleted(server: Server, api: httpx.Client) -> None:
    """The send path checks its app through a 2-second cache: a send that passed it while
    the app was being deleted is refused as any send to an unknown app (400 naming
    `app_id`), not a 500 from the message's foreign key. On PostgreSQL the delete itself may
    deadlock with the sends' inserts: it is then rolled back whole and answered 409 ABORTED,
    and passes when sent again."""
    app_id = new_app(api)

    def send(client: httpx.Client) -> httpx.Response:
        return send_text(client, app_id, new_number())

    send(api).raise_for_status()  # the app is in this process's cache now
    answered = at_once(
        server,
        [*(("send", send) for _ in range(10)), ("delete", lambda c: c.delete(f"/apps/{app_id}"))],
    )
    assert set(answered["send"]) <= {200, 400}, answered
    assert answered["delete"] in ([200], [409]), answered
    if answered["delete"] == [409]:
        assert api.delete(f"/apps/{app_id}").status_code == 200
    assert api.get(f"/apps/{app_id}").status_code == 404


def test_an_event_deleted_by_several_at_once(server: Server, api: httpx.Client) -> None:
    sent = api.post(
        "/events:send",
        json={
            "app_id": new_app(api),
            "recipient": to_sms(new_number()),
            "event": {"composing_event": {}},
        },
    )
    event = sent.json()["event_id"]
    answered = at_once(
        server, [("delete", lambda c: c.delete(f"/events/{event}")) for _ in range(4)]
    )
    assert sorted(answered["delete"]) == [200, 404, 404, 404], answered
    assert api.get(f"/events/{event}").status_code == 404


@pytest.mark.parametrize("resource", ["app", "conversation", "contact"])
def test_deletes_while_their_messages_are_dispatched(
    server: Server, api: httpx.Client, resource: str
) -> None:
    """Workers lock a message, then write its conversation (which waits on the app and the
    contact through foreign keys): a delete that locked the app, conversation or contact first
    and then waited for one of its messages deadlocked with them on PostgreSQL (409 ABORTED).
    It now locks the messages first."""
    for _ in range(4):
        app_id = new_app(api, rate_limits={"outbound": 1000})
        send = partial(send_text, app_id=app_id, number=new_number())
        first = send(api).json()["message_id"]
        conversation = wait_for(
            lambda first=first: api.get(f"/messages/{first}").json().get("conversation_id"),
            what="the first message's conversation",
        )
        contact = api.get(f"/conversations/{conversation}").json()["contact_id"]
        assert set(at_once(server, [("send", send)] * 10)["send"]) == {200}
        path = {"app": f"/apps/{app_id}", "conversation": f"/conversations/{conversation}"}.get(
            resource, f"/contacts/{contact}"
        )
        assert api.delete(path).status_code == 200
        assert api.get(path).status_code == 404
        if resource != "app":
            api.delete(f"/apps/{app_id}")
