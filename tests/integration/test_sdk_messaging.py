"""Issue 3's "Done when", through the official SDKs: every generic message type sent over SMS
to a simulated handset produces MESSAGE_SUBMIT, then QUEUED_ON_CHANNEL, then DELIVERED
callbacks whose signatures the SDK's own validator accepts; the handset shows the rendered
text; a handset reply arrives as MESSAGE_INBOUND on the same contact and conversation; an
unreachable handset yields FAILED with a reason.

SMS has no read receipts (CHANNELS.md part 1 §1.7): DELIVERED is the last positive status
there, so no READ callback is expected.

The Python SDK (PyPI `sinch` 2.3.0) runs in this process and checks signatures with
`ConversationSinchEvent(secret).validate_authentication_header`; the Node SDK
(@sinch/sdk-core 1.4.0) runs tests/node/messaging.mjs, which has its own webhook receiver
and checks signatures with `ConversationCallbackWebhooks.validateAuthenticationHeader`."""

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sinch import SinchClient

from tests.callbacks.receiver import Receiver, fresh_port
from tests.conftest import Server
from tests.integration.pipeline_helpers import (
    GENERIC_MESSAGES,
    SECRET,
    Hook,
    handset_writes,
    msisdn,
    set_handset,
    signed_for_python_sdk,
    sms_app,
    wait_for_text,
)

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


@pytest.fixture
def hook(api: httpx.Client) -> Iterator[Hook]:
    receiver = Receiver()
    yield Hook(receiver, api)
    receiver.close()


def sdk_send(sinch: SinchClient, app_id: str, kind: str, content: dict, number: str, **options):
    messages = sinch.conversation.messages
    to = [{"channel": "SMS", "identity": number}]
    if kind == "text_message":
        return messages.send_text_message(
            app_id=app_id, text=content["text"], recipient_identities=to, **options
        )
    sender = getattr(messages, f"send_{kind}")
    return sender(app_id=app_id, recipient_identities=to, **{kind: content}, **options)


# ---------------------------------------------------------------- Python SDK


@pytest.mark.parametrize("kind", list(GENERIC_MESSAGES))
def test_python_sdk_send_reaches_the_handset_with_signed_submit_queued_delivered_callbacks(
    server: Server, api: httpx.Client, sinch: SinchClient, hook: Hook, kind: str
) -> None:
    content, rendered = GENERIC_MESSAGES[kind]
    app_id = sms_app(api)
    hook.attach(app_id)
    number = msisdn()

    sent = sdk_send(
        sinch, app_id, kind, content, number, message_metadata=f"meta-{kind}", correlation_id="c-9"
    )
    message_id = sent.message_id
    assert len(message_id) == 26 and sent.accepted_time is not None

    hook.wait_for_status(app_id, message_id, "DELIVERED")
    assert hook.history(app_id, message_id) == ["SUBMIT", "QUEUED_ON_CHANNEL", "DELIVERED"]
    assert wait_for_text(server, number) == [rendered]

    events = sinch.conversation.sinch_events(SECRET)
    callbacks = hook.about(app_id, message_id)
    for received in callbacks:
        assert signed_for_python_sdk(received), received.headers
        assert not signed_for_python_sdk(received, "not-the-secret")
        body = received.json()
        assert body["message_metadata"] == f"meta-{kind}"
        assert body["correlation_id"] == "c-9"
    submit, queued, delivered = (events.parse_event(r.body) for r in callbacks)
    assert type(submit).__name__ == "MessageSubmitEvent"
    assert submit.message_submit_notification.message_id == message_id
    assert kind in callbacks[0].json()["message_submit_notification"]["submitted_message"]
    for report in (queued, delivered):
        assert type(report).__name__ == "MessageDeliveryReceiptEvent"
        assert report.message_delivery_report.message_id == message_id
        assert report.message_delivery_report.channel_identity.channel == "SMS"
        assert report.message_delivery_report.channel_identity.identity == number
        assert report.message_delivery_report.metadata == f"meta-{kind}"
        assert report.message_delivery_report.contact_id
        assert report.message_delivery_report.conversation_id


def test_python_sdk_handset_reply_arrives_on_the_same_contact_and_conversation(
    server: Server, api: httpx.Client, sinch: SinchClient, hook: Hook
) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    number = msisdn()
    message_id = sdk_send(sinch, app_id, "text_message", {"text": "How was it?"}, number).message_id
    report = hook.wait_for_status(app_id, message_id, "DELIVERED")["message_delivery_report"]

    handset_writes(server, number, app_id, "Great, thanks")
    body = hook.wait_for_inbound(app_id)
    inbound = body["message"]
    assert inbound["direction"] == "TO_APP"
    assert inbound["contact_message"] == {"text_message": {"text": "Great, thanks"}}
    assert inbound["channel_identity"]["channel"] == "SMS"
    assert inbound["channel_identity"]["identity"] == number
    assert inbound["contact_id"] == report["contact_id"]
    assert inbound["conversation_id"] == report["conversation_id"]
    [received] = [r for r in hook.received(app_id) if "message" in r.json()]
    assert signed_for_python_sdk(received)
    parsed = sinch.conversation.sinch_events(SECRET).parse_event(received.body)
    assert type(parsed).__name__ == "MessageInboundEvent"
    assert parsed.message.id == inbound["id"]

    stored = sinch.conversation.messages.get(inbound["id"])
    assert stored.direction == "TO_APP"
    assert stored.conversation_id == report["conversation_id"]


def test_python_sdk_choice_reply_by_number_arrives_as_choice_response_with_postback(
    server: Server, api: httpx.Client, sinch: SinchClient, hook: Hook
) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    number = msisdn()
    content, _ = GENERIC_MESSAGES["choice_message"]
    message_id = sdk_send(
        sinch, app_id, "choice_message", content, number, message_metadata="poll-7"
    ).message_id
    hook.wait_for_status(app_id, message_id, "DELIVERED")

    handset_writes(server, number, app_id, "1")
    first = hook.wait_for_inbound(app_id)["message"]
    assert first["contact_message"] == {
        "choice_response_message": {"message_id": message_id, "postback_data": "newsletter_yes"}
    }
    # API.md §8.3: a choice response's metadata is the message_metadata of the app message.
    assert first["metadata"] == "poll-7"
    assert sinch.conversation.messages.get(first["id"]).metadata == "poll-7"  # stored so too

    handset_writes(server, number, app_id, " shop ")
    second = hook.wait_for_inbound(app_id, lambda m: m["id"] != first["id"])["message"]
    # No postback_data on that option: "{message_id}_{title}" (Decision 3).
    assert second["contact_message"] == {
        "choice_response_message": {"message_id": message_id, "postback_data": f"{message_id}_Shop"}
    }


def test_python_sdk_unreachable_handset_ends_failed_recipient_not_reachable(
    server: Server, api: httpx.Client, sinch: SinchClient, hook: Hook
) -> None:
    app_id = sms_app(api)
    hook.attach(app_id)
    number = msisdn()
    set_handset(server, number, reachable=False)
    message_id = sdk_send(sinch, app_id, "text_message", {"text": "anyone?"}, number).message_id

    body = hook.wait_for_status(app_id, message_id, "FAILED")
    assert body["message_delivery_report"]["reason"]["code"] == "RECIPIENT_NOT_REACHABLE"
    assert hook.history(app_id, message_id) == ["SUBMIT", "QUEUED_ON_CHANNEL", "FAILED"]
    for received in hook.about(app_id, message_id):
        assert signed_for_python_sdk(received)
    parsed = sinch.conversation.sinch_events(SECRET).parse_event(
        hook.about(app_id, message_id)[-1].body
    )
    assert parsed.message_delivery_report.reason.code == "RECIPIENT_NOT_REACHABLE"


def test_python_sdk_sends_an_omni_template_rendered_on_the_handset(
    server: Server, api: httpx.Client, sinch: SinchClient, hook: Hook
) -> None:
    """The SDK has no template client (raw HTTP creates the template); it sends with
    `send_template_message`, and the SMS handset shows the substituted omni content."""
    app_id = sms_app(api)
    hook.attach(app_id)
    template_id = f"sdk-{uuid.uuid4().hex[:8]}"
    created = api.post(
        "/templates",
        json={
            "id": template_id,
            "channel": "CONVERSATION",
            "default_translation": "en-US",
            "translations": [
                {
                    "language_code": "en-US",
                    "version": "1",
                    "content": json.dumps({"text_message": {"text": "Your code is ${code}"}}),
                    "variables": [{"key": "code", "preview_value": "0000"}],
                }
            ],
        },
    )
    assert created.status_code == 200, created.text
    number = msisdn()
    sent = sinch.conversation.messages.send_template_message(
        app_id=app_id,
        template_message={
            "omni_template": {
                "template_id": template_id,
                "version": "1",
                "language_code": "en_US",
                "parameters": {"code": "4711"},
            }
        },
        recipient_identities=[{"channel": "SMS", "identity": number}],
    )
    hook.wait_for_status(app_id, sent.message_id, "DELIVERED")
    assert wait_for_text(server, number) == ["Your code is 4711"]

    missing = sinch.conversation.messages.send_template_message(
        app_id=app_id,
        template_message={"omni_template": {"template_id": "no-such", "version": "1"}},
        recipient_identities=[{"channel": "SMS", "identity": number}],
    )
    failed = hook.wait_for_status(app_id, missing.message_id, "FAILED")
    assert failed["message_delivery_report"]["reason"]["code"] == "TEMPLATE_NOT_FOUND"


# ---------------------------------------------------------------- Node SDK


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "@sinch" / "sdk-core").is_dir():
        message = "node and tests/node/node_modules (npm ci) are needed for the Node SDK tests"
        if os.environ.get("CI"):
            pytest.fail(message + " (required when CI is set)")
        pytest.skip(message)
    return node


def test_node_sdk_messaging_end_to_end(server: Server) -> None:
    """tests/node/messaging.mjs: every generic type over SMS with signed callbacks checked by
    the Node validator, the handset's text, a reply and a choice reply, an unreachable
    handset, and the messages store (list/get/update/delete, last message per identity)."""
    node = _node()
    env = {
        **os.environ,
        "CHORUS_URL": server.url,
        "CHORUS_PROJECT_ID": server.project_id,
        "CHORUS_KEY_ID": server.key_id,
        "CHORUS_KEY_SECRET": server.key_secret,
        "CHORUS_TEST_RECEIVER_PORT": str(fresh_port()),
    }
    try:
        result = subprocess.run(
            [node, str(NODE_DIR / "messaging.mjs")],
            cwd=NODE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"messaging.mjs did not finish in 300 s\n{exc.stdout!r}\n{exc.stderr!r}")
    assert result.returncode == 0, (
        f"messaging.mjs exited with {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )
    assert "all checks passed" in result.stdout, result.stdout
