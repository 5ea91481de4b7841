"""Callback delivery end to end (API.md §8, Decisions 4, 6, 11): a real chorus server, a real
webhook receiver in this process, contacts and conversations driving the occurrences.

These tests run their own servers with a small retry scale (`CHORUS_CALLBACK_RETRY_SCALE`):
0.01 for the retry tests (the schedule in hundredths), 0 for exhausting every attempt."""

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sinch.domains.conversation.sinch_events.v1.conversation_sinch_event import (
    ConversationSinchEvent,
)

from chorus.callbacks.events import record_event
from chorus.callbacks.schedule import MAX_ATTEMPTS
from chorus.config import async_database_url
from chorus.kit.db import connect
from chorus.wire.enums import WebhookTrigger
from tests.callbacks.receiver import Receiver, wait_until
from tests.conftest import (
    BACKENDS,
    Credentials,
    chorus,
    fresh_database,
    start_server,
    stop_server,
)
from tests.integration.helpers import assert_error, new_app

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
ENVELOPE = ["app_id", "accepted_time", "event_time", "project_id"]
SIGNING_HEADERS = {
    "x-sinch-webhook-signature",
    "x-sinch-webhook-signature-nonce",
    "x-sinch-webhook-signature-timestamp",
    "x-sinch-webhook-signature-algorithm",
}


@dataclass
class CallbackServer:
    url: str
    database_url: str
    main: Credentials
    other: Credentials

    def api(self, credentials: Credentials | None = None) -> httpx.Client:
        return self._client("/v1", credentials)

    def ext(self, credentials: Credentials | None = None) -> httpx.Client:
        """The extension API, /chorus/v1/projects/{project_id}."""
        return self._client("/chorus/v1", credentials)

    def _client(self, prefix: str, credentials: Credentials | None) -> httpx.Client:
        creds = credentials or self.main
        return httpx.Client(
            base_url=f"{self.url}{prefix}/projects/{creds.project_id}",
            auth=(creds.key_id, creds.key_secret),
            timeout=30,
        )


@contextmanager
def callback_server(backend: str, retry_scale: str) -> Iterator[CallbackServer]:
    data_dir = Path(tempfile.mkdtemp(prefix=f"chorus-callbacks-{backend}-"))
    main = Credentials(
        f"proj-{uuid.uuid4().hex[:8]}", f"key-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    )
    with fresh_database(backend, data_dir) as (database_url, _sync_url):
        process, url, env = start_server(
            database_url,
            data_dir,
            {
                "CHORUS_BOOTSTRAP_PROJECT_ID": main.project_id,
                "CHORUS_BOOTSTRAP_KEY_ID": main.key_id,
                "CHORUS_BOOTSTRAP_KEY_SECRET": main.key_secret,
                "CHORUS_CALLBACK_RETRY_SCALE": retry_scale,
            },
        )
        try:
            other = Credentials(
                **json.loads(chorus("project", "create", "--name", "other", "--json", env=env))
            )
            yield CallbackServer(url, database_url, main, other)
        finally:
            stop_server(process)
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module", params=BACKENDS)
def srv(request: pytest.FixtureRequest) -> Iterator[CallbackServer]:
    """Retries on a schedule scaled by 0.01 (5 s → 50 ms, 15 s → 150 ms, 1 min → 0.6 s...)."""
    with callback_server(request.param, "0.01") as server:
        yield server


@pytest.fixture(scope="module", params=BACKENDS)
def fast_srv(request: pytest.FixtureRequest) -> Iterator[CallbackServer]:
    """Retries at once: every attempt of the schedule is used up in moments."""
    with callback_server(request.param, "0") as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def api(srv: CallbackServer) -> Iterator[httpx.Client]:
    """The test server's API; apps created through `app_with_webhook` are deleted after the
    test, so later tests' contact events do not go to this test's receiver."""
    with srv.api() as client:
        yield client
        for app in client.get("/apps").json().get("apps", []):
            client.delete(f"/apps/{app['id']}")


@pytest.fixture
def ext(srv: CallbackServer) -> Iterator[httpx.Client]:
    with srv.ext() as client:
        yield client


def app_with_webhook(
    api: httpx.Client, target: str, triggers: list[str], **webhook: Any
) -> tuple[str, str]:
    app_id = new_app(api)
    return app_id, add_webhook(api, app_id, target, triggers, **webhook)


def add_webhook(
    api: httpx.Client, app_id: str, target: str, triggers: list[str], **webhook: Any
) -> str:
    body = {"app_id": app_id, "target": target, "triggers": triggers, **webhook}
    response = api.post("/webhooks", json=body)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def new_contact(api: httpx.Client, **fields: Any) -> str:
    phone = f"4670{uuid.uuid4().int % 10**7:07d}"
    body = {"channel_identities": [{"channel": "SMS", "identity": phone}], **fields}
    response = api.post("/contacts", json=body)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def about_contact(contact_id: str) -> Callable[[Any], bool]:
    return lambda r: (
        r.json().get("contact_create_notification", {}).get("contact", {}).get("id") == contact_id
    )


def deliveries(ext: httpx.Client, webhook_id: str, **params: Any) -> list[dict[str, Any]]:
    response = ext.get(f"/webhooks/{webhook_id}/deliveries", params=params)
    assert response.status_code == 200, response.text
    return response.json()["deliveries"]


def wait_for_deliveries(
    ext: httpx.Client,
    webhook_id: str,
    condition: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 30,
) -> list[dict[str, Any]]:
    return wait_until(
        lambda: deliveries(ext, webhook_id), condition, timeout, f"deliveries of {webhook_id}"
    )


def record(database_url: str, trigger: WebhookTrigger, **fields: Any) -> str:
    """Record an occurrence through the service layer, as the message pipeline does."""

    async def write() -> str:
        db = connect(async_database_url(database_url))
        try:
            async with db.write_sessions() as session:
                event_id = await record_event(session, trigger, **fields)
                await session.commit()
            return event_id
        finally:
            await db.dispose()

    return asyncio.run(write())


# ---------------------------------------------------------------- body and signature


def test_contact_create_reaches_the_webhook_signed_as_the_python_sdk_expects(
    srv: CallbackServer, api: httpx.Client, ext: httpx.Client, receiver: Receiver
) -> None:
    app_id, webhook_id = app_with_webhook(
        api, receiver.url(), ["CONTACT_CREATE"], secret="hook-secret"
    )
    contact_id = new_contact(api, display_name="Zoë / Ünïcödé 😀")
    [request] = receiver.wait_for(lambda rs: any(about_contact(contact_id)(r) for r in rs))

    body = request.json()
    assert list(body) == [*ENVELOPE, "contact_create_notification"]
    assert body["app_id"] == app_id and body["project_id"] == srv.main.project_id
    assert body["accepted_time"] == body["event_time"]
    assert body["contact_create_notification"]["contact"]["display_name"] == "Zoë / Ünïcödé 😀"
    assert "Zoë / Ünïcödé 😀" in request.body  # raw UTF-8, "/" not escaped
    assert ", " not in request.body and '": ' not in request.body  # compact

    headers = request.headers
    assert headers["content-type"] == "application/json"
    assert set(headers) >= SIGNING_HEADERS
    assert headers["x-sinch-webhook-signature-algorithm"] == "HmacSHA256"
    assert headers["x-sinch-webhook-signature-timestamp"].isdigit()
    assert len(headers["x-sinch-webhook-signature-nonce"]) == 26
    assert len(headers["x-chorus-event-id"]) == 26
    assert ConversationSinchEvent("hook-secret").validate_authentication_header(
        headers, request.body
    )
    assert ConversationSinchEvent("hook-secret").validate_authentication_header(
        headers, request.body.encode("utf-8")
    )
    assert not ConversationSinchEvent("wrong").validate_authentication_header(headers, request.body)
    [delivery] = wait_for_deliveries(
        ext, webhook_id, lambda ds: ds and ds[0]["status"] == "delivered"
    )
    assert delivery["event_id"] == headers["x-chorus-event-id"]


def test_callbacks_are_unsigned_without_a_secret(api: httpx.Client, receiver: Receiver) -> None:
    app_with_webhook(api, receiver.url(), ["CONTACT_CREATE"])
    contact_id = new_contact(api)
    [request] = receiver.wait_for(lambda rs: any(about_contact(contact_id)(r) for r in rs))
    assert not SIGNING_HEADERS & set(request.headers)
    assert request.headers["x-chorus-event-id"]


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "@sinch" / "sdk-core").is_dir():
        message = "node and tests/node/node_modules are needed for the Node SDK validator"
        if os.environ.get("CI"):
            pytest.fail(message + " (required when CI is set)")
        pytest.skip(message)
    return node


def test_signatures_pass_the_node_sdk_validator_raw_and_parsed(
    api: httpx.Client, receiver: Receiver
) -> None:
    node = _node()
    app_id, _ = app_with_webhook(
        api, receiver.url(), ["CONTACT_CREATE", "CONVERSATION_START"], secret="node-secret"
    )
    contact_id = new_contact(api, display_name="Zoë / 日本 😀")
    metadata = {"score": 10.0, "ratio": 0.5, "tiny": 1e-7, "2": "two", "url": "a/b"}
    response = api.post(
        "/conversations",
        json={"app_id": app_id, "contact_id": contact_id, "metadata_json": metadata},
    )
    assert response.status_code == 200, response.text
    requests = receiver.wait_for(lambda rs: len(rs) >= 2)
    start = next(r for r in requests if "conversation_start_notification" in r.json())
    assert '"score":10,' in start.body and '"tiny":1e-7' in start.body

    lines = [
        json.dumps({"headers": r.headers, "body": r.body, "secret": secret})
        for r in requests
        for secret in ("node-secret", "wrong-secret")
    ]
    result = subprocess.run(
        [node, str(NODE_DIR / "callbacks.mjs")],
        cwd=NODE_DIR,
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    verdicts = [json.loads(line) for line in result.stdout.splitlines()]
    assert verdicts == [
        {"raw": True, "parsed": True},
        {"raw": False, "parsed": False},
    ] * len(requests)


# ---------------------------------------------------------------- targets


def test_only_webhooks_with_the_trigger_receive_it(
    srv: CallbackServer, api: httpx.Client, ext: httpx.Client, receiver: Receiver
) -> None:
    app_id, contacts_hook = app_with_webhook(api, receiver.url("/contacts"), ["CONTACT_CREATE"])
    conversations_hook = add_webhook(
        api, app_id, receiver.url("/conversations"), ["CONVERSATION_START", "CONVERSATION_STOP"]
    )
    contact_id = new_contact(api)
    receiver.wait_for(lambda rs: len(rs) == 1, path="/contacts")

    conversation = api.post("/conversations", json={"app_id": app_id, "contact_id": contact_id})
    conversation_id = conversation.json()["id"]
    assert api.post(f"/conversations/{conversation_id}:stop").status_code == 200
    started, stopped = receiver.wait_for(lambda rs: len(rs) == 2, path="/conversations")
    assert list(started.json()) == [*ENVELOPE, "conversation_start_notification"]
    assert started.json()["conversation_start_notification"]["conversation"]["id"] == (
        conversation_id
    )
    assert stopped.json()["conversation_stop_notification"]["conversation"]["active"] is False
    assert started.json()["app_id"] == app_id

    wait_for_deliveries(ext, conversations_hook, lambda ds: len(ds) == 2)
    assert [d["trigger"] for d in deliveries(ext, contacts_hook)] == ["CONTACT_CREATE"]
    assert len(receiver.received("/contacts")) == 1


def test_contact_events_reach_the_webhooks_of_every_app_of_the_project(
    api: httpx.Client, receiver: Receiver
) -> None:
    first_app, _ = app_with_webhook(api, receiver.url("/first"), ["CONTACT_CREATE"])
    second_app, _ = app_with_webhook(api, receiver.url("/second"), ["CONTACT_CREATE"])
    app_with_webhook(api, receiver.url("/none"), ["CONTACT_DELETE"])
    contact_id = new_contact(api)
    [first] = receiver.wait_for(lambda rs: len(rs) == 1, path="/first")
    [second] = receiver.wait_for(lambda rs: len(rs) == 1, path="/second")
    assert first.json()["app_id"] == first_app and second.json()["app_id"] == second_app
    for request in (first, second):
        assert about_contact(contact_id)(request)
    assert first.headers["x-chorus-event-id"] == second.headers["x-chorus-event-id"]
    assert receiver.received("/none") == []


def test_a_dismiss_webhook_gets_nothing_and_its_delivery_is_dismissed(
    srv: CallbackServer, api: httpx.Client, ext: httpx.Client, receiver: Receiver
) -> None:
    app_id, dismiss_hook = app_with_webhook(
        api, receiver.url("/dismissed"), ["CONTACT_CREATE"], target_type="DISMISS"
    )
    add_webhook(api, app_id, receiver.url("/live"), ["CONTACT_CREATE"])
    new_contact(api)
    receiver.wait_for(lambda rs: len(rs) == 1, path="/live")
    [delivery] = wait_for_deliveries(ext, dismiss_hook, lambda ds: len(ds) == 1)
    assert delivery["status"] == "dismissed" and delivery["attempts"] == []
    assert receiver.received("/dismissed") == []


def test_callback_url_reports_go_only_there_signed_with_the_apps_override_secret(
    srv: CallbackServer, api: httpx.Client, receiver: Receiver
) -> None:
    app_id = new_app(
        api, callback_settings={"secret_for_overridden_callback_urls": "override-secret"}
    )
    add_webhook(api, app_id, receiver.url("/hook"), ["MESSAGE_DELIVERY", "MESSAGE_SUBMIT"])
    report = {"message_id": "M1", "status": "DELIVERED", "metadata": "meta"}
    for trigger, key in (
        (WebhookTrigger.MESSAGE_DELIVERY, "message_delivery_report"),
        (WebhookTrigger.MESSAGE_SUBMIT, "message_submit_notification"),
    ):
        record(
            srv.database_url,
            trigger,
            project_id=srv.main.project_id,
            app_id=app_id,
            payload_key=key,
            payload=report,
            message_metadata="meta",
            correlation_id="corr-7",
            callback_url=receiver.url("/override"),
            ordering_key="M1",
        )
    [overridden] = receiver.wait_for(lambda rs: len(rs) == 1, path="/override")
    [submitted] = receiver.wait_for(lambda rs: len(rs) == 1, path="/hook")
    # Only delivery reports follow callback_url; the submit notification goes to the webhook.
    assert list(overridden.json()) == [
        *ENVELOPE,
        "message_metadata",
        "correlation_id",
        "message_delivery_report",
    ]
    assert overridden.json()["correlation_id"] == "corr-7"
    assert "message_submit_notification" in submitted.json()
    assert ConversationSinchEvent("override-secret").validate_authentication_header(
        overridden.headers, overridden.body
    )
    assert not SIGNING_HEADERS & set(submitted.headers)  # the webhook has no secret


def test_reports_about_one_message_arrive_in_order_even_through_retries(
    srv: CallbackServer, api: httpx.Client, receiver: Receiver
) -> None:
    app_id, _ = app_with_webhook(api, receiver.url(), ["MESSAGE_DELIVERY"])
    receiver.fail_next = 2
    for status in ("QUEUED_ON_CHANNEL", "DELIVERED", "READ"):
        record(
            srv.database_url,
            WebhookTrigger.MESSAGE_DELIVERY,
            project_id=srv.main.project_id,
            app_id=app_id,
            payload_key="message_delivery_report",
            payload={"message_id": "M-ordered", "status": status},
            ordering_key="M-ordered",
        )
    requests = receiver.wait_for(lambda rs: len(rs) == 5)
    statuses = [r.json()["message_delivery_report"]["status"] for r in requests]
    assert statuses == ["QUEUED_ON_CHANNEL"] * 3 + ["DELIVERED", "READ"]


def test_a_conversations_and_a_contacts_events_arrive_in_order_even_through_retries(
    api: httpx.Client, receiver: Receiver
) -> None:
    # The first callback fails twice: without an order the later ones would overtake it.
    app_id, _ = app_with_webhook(
        api,
        receiver.url(),
        ["CONVERSATION_START", "CONVERSATION_STOP", "CONVERSATION_DELETE"],
    )
    contact_id = new_contact(api)
    receiver.fail_next = 2
    conversation_id = api.post(
        "/conversations", json={"app_id": app_id, "contact_id": contact_id}
    ).json()["id"]
    assert api.post(f"/conversations/{conversation_id}:stop").status_code == 200
    assert api.delete(f"/conversations/{conversation_id}").status_code == 200
    requests = receiver.wait_for(lambda rs: len(rs) == 5)
    assert [list(r.json())[-1] for r in requests] == ["conversation_start_notification"] * 3 + [
        "conversation_stop_notification",
        "conversation_delete_notification",
    ]

    add_webhook(api, app_id, receiver.url("/contacts"), ["CONTACT_CREATE", "CONTACT_UPDATE"])
    receiver.fail_next = 2
    contact_id = new_contact(api)
    assert api.patch(f"/contacts/{contact_id}", json={"display_name": "B"}).status_code == 200
    requests = receiver.wait_for(lambda rs: len(rs) == 4, path="/contacts")
    assert [list(r.json())[-1] for r in requests] == ["contact_create_notification"] * 3 + [
        "contact_update_notification"
    ]


def test_client_credentials_put_a_bearer_token_on_callbacks(
    srv: CallbackServer, api: httpx.Client, ext: httpx.Client, receiver: Receiver
) -> None:
    app_id = new_app(api)
    basic_hook = add_webhook(
        api,
        app_id,
        receiver.url("/basic"),
        ["CONTACT_CREATE"],
        client_credentials={
            "client_id": "cid",
            "client_secret": "csecret",
            "endpoint": receiver.url("/token-basic"),
            "scope": "callbacks",
        },
    )
    add_webhook(
        api,
        app_id,
        receiver.url("/form"),
        ["CONTACT_CREATE"],
        client_credentials={
            "client_id": "cid2",
            "client_secret": "csecret2",
            "endpoint": receiver.url("/token-form"),
            "token_request_type": "FORM",
        },
    )
    new_contact(api)
    new_contact(api)
    basic = receiver.wait_for(lambda rs: len(rs) == 2, path="/basic")
    form = receiver.wait_for(lambda rs: len(rs) == 2, path="/form")
    [basic_token] = receiver.received("/token-basic")  # cached: one token per webhook
    [form_token] = receiver.received("/token-form")

    assert basic_token.headers["authorization"].startswith("Basic ")
    assert "grant_type=client_credentials" in basic_token.body
    assert "scope=callbacks" in basic_token.body
    assert "client_secret" not in basic_token.body
    assert "authorization" not in form_token.headers
    assert "client_id=cid2" in form_token.body and "client_secret=csecret2" in form_token.body

    tokens = {r.headers["authorization"] for r in basic + form}
    assert len(tokens) == 2 and all(t.startswith("Bearer token-") for t in tokens)

    [latest, _] = wait_for_deliveries(
        ext, basic_hook, lambda ds: [d["status"] for d in ds] == ["delivered"] * 2
    )
    detail = ext.get(f"/deliveries/{latest['id']}").json()
    assert detail["headers"]["authorization"] == "Bearer [redacted]"
    assert "token-" not in json.dumps(detail)


# ---------------------------------------------------------------- retries and replay


def test_a_receiver_answering_500_twice_gets_the_callback_on_the_third_attempt(
    srv: CallbackServer, api: httpx.Client, ext: httpx.Client, receiver: Receiver
) -> None:
    _, webhook_id = app_with_webhook(api, receiver.url(), ["CONTACT_CREATE"], secret="s")
    receiver.fail_next = 2
    new_contact(api)
    requests = receiver.wait_for(lambda rs: len(rs) == 3)
    event_ids = {r.headers["x-chorus-event-id"] for r in requests}
    nonces = {r.headers["x-sinch-webhook-signature-nonce"] for r in requests}
    assert len(event_ids) == 1 and len(nonces) == 3
    assert len({r.body for r in requests}) == 1
    for request in requests:
        assert ConversationSinchEvent("s").validate_authentication_header(
            request.headers, request.body
        )

    [delivery] = wait_for_deliveries(
        ext, webhook_id, lambda ds: ds and ds[0]["status"] == "delivered"
    )
    assert delivery["attempt_count"] == 3
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 200]
    assert [a["number"] for a in delivery["attempts"]] == [1, 2, 3]
    assert delivery["attempts"][0]["error"].startswith("HTTP 500")
    assert delivery["event_id"] == event_ids.pop()
    detail = ext.get(f"/deliveries/{delivery['id']}").json()
    assert detail["body"] == requests[0].body
    assert detail["payload"] == requests[0].json()
    assert (
        detail["headers"]["x-sinch-webhook-signature-nonce"]
        == (requests[-1].headers["x-sinch-webhook-signature-nonce"])
    )
    assert detail["delivered_time"] and detail["next_attempt_time"] is None
    assert all(a["latency_ms"] >= 0 for a in detail["attempts"])


def test_a_receiver_that_was_down_gets_the_callback_when_it_is_back(
    srv: CallbackServer, api: httpx.Client, ext: httpx.Client, receiver: Receiver
) -> None:
    _, webhook_id = app_with_webhook(api, receiver.url(), ["CONTACT_CREATE"])
    receiver.down()
    contact_id = new_contact(api)
    [failing] = wait_for_deliveries(
        ext, webhook_id, lambda ds: len(ds) == 1 and ds[0]["attempt_count"] >= 2
    )
    assert failing["status"] == "pending" and failing["next_attempt_time"]
    assert all(a["status_code"] is None and a["error"] for a in failing["attempts"])
    receiver.up()
    [request] = receiver.wait_for(lambda rs: len(rs) == 1)
    assert about_contact(contact_id)(request)
    assert request.headers["x-chorus-event-id"] == failing["event_id"]
    [delivered] = wait_for_deliveries(ext, webhook_id, lambda ds: ds[0]["status"] == "delivered")
    assert delivered["attempt_count"] >= 3


def test_exhausted_callbacks_are_dead_and_a_replay_delivers_them_with_the_same_event_id(
    fast_srv: CallbackServer, receiver: Receiver
) -> None:
    with fast_srv.api() as api, fast_srv.ext() as ext:
        _, webhook_id = app_with_webhook(api, receiver.url(), ["CONTACT_CREATE"], secret="s")
        receiver.always_fail = True
        new_contact(api)
        [dead] = wait_for_deliveries(
            ext, webhook_id, lambda ds: ds and ds[0]["status"] == "dead", timeout=60
        )
        assert dead["attempt_count"] == MAX_ATTEMPTS == len(receiver.received())
        assert dead["next_attempt_time"] is None
        assert deliveries(ext, webhook_id, status="dead") == [dead]
        assert deliveries(ext, webhook_id, status="pending") == []

        receiver.always_fail = False
        replayed = ext.post(f"/deliveries/{dead['id']}:replay")
        assert replayed.status_code == 200, replayed.text
        replayed = replayed.json()
        assert replayed["status"] == "delivered"
        assert replayed["attempt_count"] == MAX_ATTEMPTS + 1
        assert replayed["attempts"][-1]["status_code"] == 200
        last = receiver.received()[-1]
        assert last.headers["x-chorus-event-id"] == dead["event_id"]
        assert ConversationSinchEvent("s").validate_authentication_header(last.headers, last.body)
        assert (
            replayed["headers"]["x-sinch-webhook-signature-nonce"]
            == (last.headers["x-sinch-webhook-signature-nonce"])
        )

        # A delivered callback can be replayed too; a failed replay leaves it delivered.
        receiver.always_fail = True
        again = ext.post(f"/deliveries/{dead['id']}:replay").json()
        assert again["status"] == "delivered"
        assert again["attempts"][-1]["status_code"] == 500
        assert receiver.received()[-1].headers["x-chorus-event-id"] == dead["event_id"]
        # One that succeeds keeps the time the callback was first delivered.
        receiver.always_fail = False
        third = ext.post(f"/deliveries/{dead['id']}:replay").json()
        assert third["attempts"][-1]["status_code"] == 200
        assert third["delivered_time"] == replayed["delivered_time"] is not None
        for app in api.get("/apps").json()["apps"]:
            api.delete(f"/apps/{app['id']}")


# ---------------------------------------------------------------- extension API


def test_the_delivery_log_is_paged_newest_first_and_filtered_by_status(
    srv: CallbackServer, api: httpx.Client, ext: httpx.Client, receiver: Receiver
) -> None:
    _, webhook_id = app_with_webhook(api, receiver.url(), ["CONTACT_CREATE"])
    contacts = [new_contact(api) for _ in range(3)]
    wait_for_deliveries(ext, webhook_id, lambda ds: [d["status"] for d in ds] == ["delivered"] * 3)

    first = ext.get(f"/webhooks/{webhook_id}/deliveries", params={"page_size": 2}).json()
    assert len(first["deliveries"]) == 2 and first["next_page_token"]
    second = ext.get(
        f"/webhooks/{webhook_id}/deliveries",
        params={"page_size": 2, "page_token": first["next_page_token"]},
    ).json()
    assert len(second["deliveries"]) == 1 and second["next_page_token"] == ""
    listed = first["deliveries"] + second["deliveries"]
    ids = [d["id"] for d in listed]
    assert ids == sorted(ids, reverse=True)
    bodies = [ext.get(f"/deliveries/{i}").json()["payload"] for i in ids]
    assert [b["contact_create_notification"]["contact"]["id"] for b in bodies] == contacts[::-1]

    assert deliveries(ext, webhook_id, status="delivered") == deliveries(ext, webhook_id)
    assert deliveries(ext, webhook_id, status="dead") == []
    assert_error(
        ext.get(f"/webhooks/{webhook_id}/deliveries", params={"status": "lost"}),
        400,
        "INVALID_ARGUMENT",
        field="status",
    )
    assert_error(
        ext.get(
            f"/webhooks/{webhook_id}/deliveries",
            params={"page_token": first["next_page_token"], "status": "dead"},
        ),
        400,
        field="page_token",
    )
    assert_error(
        ext.get(f"/webhooks/{webhook_id}/deliveries", params={"page_token": "garbage!"}),
        400,
        field="page_token",
    )
    assert_error(
        ext.get(f"/webhooks/{webhook_id}/deliveries", params={"page_size": 101}),
        400,
        field="page_size",
    )


def test_unknown_and_foreign_ids_are_404_and_foreign_keys_403(
    srv: CallbackServer, api: httpx.Client, ext: httpx.Client, receiver: Receiver
) -> None:
    _, webhook_id = app_with_webhook(api, receiver.url(), ["CONTACT_CREATE"])
    new_contact(api)
    [delivery] = wait_for_deliveries(ext, webhook_id, lambda ds: len(ds) == 1)

    assert_error(ext.get("/webhooks/NO-SUCH-WEBHOOK/deliveries"), 404, "NOT_FOUND")
    assert_error(ext.get("/deliveries/NO-SUCH-DELIVERY"), 404, "NOT_FOUND")
    assert_error(ext.post("/deliveries/NO-SUCH-DELIVERY:replay"), 404, "NOT_FOUND")

    with srv.ext(srv.other) as other:
        assert_error(other.get(f"/webhooks/{webhook_id}/deliveries"), 404, "NOT_FOUND")
        assert_error(other.get(f"/deliveries/{delivery['id']}"), 404, "NOT_FOUND")
        assert_error(other.post(f"/deliveries/{delivery['id']}:replay"), 404, "NOT_FOUND")

    foreign_path = f"{srv.url}/chorus/v1/projects/{srv.other.project_id}/deliveries/x"
    response = httpx.get(foreign_path, auth=(srv.main.key_id, srv.main.key_secret))
    assert_error(response, 403, "PERMISSION_DENIED")
    assert_error(httpx.get(f"{srv.url}/chorus/v1/projects/{srv.main.project_id}/deliveries/x"), 401)


def test_a_delivery_of_a_deleted_webhook_cannot_be_replayed(
    srv: CallbackServer, api: httpx.Client, ext: httpx.Client, receiver: Receiver
) -> None:
    _, webhook_id = app_with_webhook(api, receiver.url(), ["CONTACT_CREATE"])
    new_contact(api)
    [delivery] = wait_for_deliveries(
        ext, webhook_id, lambda ds: ds and ds[0]["status"] == "delivered"
    )
    assert api.delete(f"/webhooks/{webhook_id}").status_code == 200
    assert ext.get(f"/deliveries/{delivery['id']}").json()["status"] == "delivered"
    assert_error(ext.post(f"/deliveries/{delivery['id']}:replay"), 400, "FAILED_PRECONDITION")
