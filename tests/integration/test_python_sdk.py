"""The official Python SDK (PyPI `sinch` 2.3.0), unchanged, against a chorus server."""

import uuid

import httpx
import pytest
from sinch import SinchClient
from sinch.domains.conversation.api.v1.exceptions import ConversationException

from tests.integration.helpers import wait_for


def phone() -> str:
    return "4670" + str(uuid.uuid4().int)[:7]


def test_apps_lifecycle(sinch: SinchClient) -> None:
    apps = sinch.conversation.apps
    created = apps.create(
        display_name="python sdk app",
        channel_credentials={
            "SMS": {"claimed_identity": "46700000000", "token": "t"},
            "MESSENGER": {"token": "page-token"},
        },
        retention_policy={"retention_type": "CONVERSATION_EXPIRE_POLICY", "ttl_days": 30},
    )
    assert created.display_name == "python sdk app"
    assert created.processing_mode == "CONVERSATION"
    assert created.retention_policy.ttl_days == 30

    fetched = apps.get(created.id, raw_response=True)
    assert [c.channel for c in fetched.channel_credentials] == ["SMS", "MESSENGER"]

    updated = apps.update(created.id, display_name="renamed", message_retry_settings=None)
    assert updated.display_name == "renamed"
    assert updated.retention_policy.ttl_days == 30  # not in the mask: kept

    # raw_response: the SDK's channel-keyed model cannot hold the `sms_credentials` form that
    # other tests' apps in this project use.
    assert created.id in [a.id for a in apps.list(raw_response=True).iterator()]
    apps.delete(created.id)
    with pytest.raises(ConversationException) as raised:
        apps.get(created.id)
    assert "NOT_FOUND" in str(raised.value)


def test_app_validation_error_reaches_the_caller(sinch: SinchClient) -> None:
    with pytest.raises(ConversationException) as raised:
        sinch.conversation.apps.create(
            display_name="bad", channel_credentials={}, retention_policy={"ttl_days": 9999}
        )
    assert "INVALID_ARGUMENT" in str(raised.value)
    assert "ttl_days" in str(raised.value)


def test_contacts_lifecycle_paging_and_merge(sinch: SinchClient) -> None:
    contacts = sinch.conversation.contacts
    tag = uuid.uuid4().hex[:8]
    made = [
        contacts.create(
            channel_identities=[{"channel": "SMS", "identity": "+" + phone()}],
            language="EN_US",
            external_id=f"py-{tag}",
            display_name=f"c{index}",
        )
        for index in range(12)
    ]
    listed = list(contacts.list(page_size=5, external_id=f"py-{tag}").iterator())
    assert [c.id for c in listed] == [c.id for c in made]

    one = made[0]
    identity = one.channel_identities[0].identity
    assert not identity.startswith("+")
    by_identity = contacts.list(channel="SMS", identity="+" + identity).content()
    assert [c.id for c in by_identity] == [one.id]

    updated = contacts.update(one.id, display_name="Ada", email="ada@example.com", metadata=None)
    assert (updated.display_name, updated.email) == ("Ada", "ada@example.com")
    assert contacts.get(one.id).display_name == "Ada"

    source = contacts.create(
        channel_identities=[{"channel": "WHATSAPP", "identity": phone()}],
        language="UNSPECIFIED",
    )
    merged = contacts.merge_contact(destination_id=one.id, source_id=source.id)
    assert [i.channel for i in merged.channel_identities] == ["SMS", "WHATSAPP"]
    assert merged.channel_priority == ["SMS", "WHATSAPP"]
    with pytest.raises(ConversationException):
        contacts.get(source.id)

    contacts.delete(made[1].id)
    with pytest.raises(ConversationException) as raised:
        contacts.get(made[1].id)
    assert "NOT_FOUND" in str(raised.value)


def test_identity_conflicts_through_the_paginator(sinch: SinchClient) -> None:
    contacts = sinch.conversation.contacts
    number = phone()
    ids = {
        contacts.create(
            channel_identities=[{"channel": channel, "identity": number}], language="UNSPECIFIED"
        ).id
        for channel in ("SMS", "RCS")
    }
    conflicts = list(contacts.list_identity_conflicts(page_size=2).iterator())
    mine = [c for c in conflicts if c.identity == number]
    assert len(mine) == 1
    assert set(mine[0].contact_ids) == ids


def test_channel_profile_through_all_three_wrappers(sinch: SinchClient, server) -> None:
    """`contacts.get_channel_profile` and its `_by_contact_id` / `_by_channel_identity`
    wrappers (API.md Part A §4.5) for a Messenger user who wrote to the Page first (the
    Graph API knows no one else)."""
    contacts = sinch.conversation.contacts
    app = sinch.conversation.apps.create(
        display_name="python sdk profiles",
        channel_credentials={"MESSENGER": {"token": f"page-{uuid.uuid4().hex}"}},
    )
    psid = str(uuid.uuid4().int)[:15]
    identities = [{"channel": "MESSENGER", "identity": psid}]
    with pytest.raises(ConversationException) as raised:
        contacts.get_channel_profile_by_channel_identity(app.id, "MESSENGER", identities)
    assert "NOT_FOUND" in str(raised.value)

    wrote = httpx.post(
        f"{server.url}/simulator/v1/handsets/messenger/{psid}/messages",
        json={"app_id": app.id, "text_message": {"text": "hello"}},
    )
    assert wrote.status_code == 200 and wrote.json()["status_code"] == 200, wrote.text
    contact = wait_for(
        lambda: contacts.list(channel="MESSENGER", identity=psid).content(),
        what="the contact of the Messenger user",
    )[0]

    answers = [
        contacts.get_channel_profile(
            app.id, "MESSENGER", {"identified_by": {"channel_identities": identities}}
        ),
        contacts.get_channel_profile_by_contact_id(app.id, "MESSENGER", contact.id),
        contacts.get_channel_profile_by_channel_identity(app.id, "MESSENGER", identities),
    ]
    assert [answer.profile_name for answer in answers] == ["Simulated user"] * 3
    with pytest.raises(ConversationException) as raised:
        contacts.get_channel_profile_by_contact_id(app.id, "SMS", contact.id)
    assert "INVALID_ARGUMENT" in str(raised.value)
    sinch.conversation.apps.delete(app.id)
