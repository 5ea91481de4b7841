"""Project settings (API.md Part A §6.1): one optional document per project at the singular
`/settings`; create once, read, PATCH by top-level object (or update_mask), delete; unified
contact ids cannot be turned on while identity conflicts exist."""

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Credentials, Server, chorus
from tests.integration.consent_helpers import (
    consent_app,
    handset_writes,
    msisdn,
    payloads,
    wait_for_payloads,
)
from tests.integration.helpers import assert_error


@pytest.fixture
def fresh(server: Server) -> Iterator[tuple[httpx.Client, str]]:
    """A project of its own (settings are per project), and its id."""
    created = Credentials(
        **json.loads(chorus("project", "create", "--name", "settings", "--json", env=server.env))
    )
    with server.client(created) as client:
        yield client, created.project_id


def view(project_id: str, unified: bool) -> dict[str, object]:
    return {
        "project_id": project_id,
        "settings": {"contact_settings": {"unified_contact_id_enabled": unified}},
    }


def test_settings_lifecycle(fresh: tuple[httpx.Client, str]) -> None:
    api, project_id = fresh
    assert_error(api.get("/settings"), 404, "NOT_FOUND")
    assert_error(api.patch("/settings", json={}), 404, "NOT_FOUND")
    assert_error(api.delete("/settings"), 404, "NOT_FOUND")

    created = api.post("/settings", json={})
    assert created.status_code == 200, created.text
    assert created.json() == view(project_id, False)
    assert_error(api.post("/settings", json={}), 409, "ALREADY_EXISTS")
    assert api.get("/settings").json() == view(project_id, False)

    # No contacts, so no conflicts: unified contact ids can be turned on at once.
    on = api.patch("/settings", json={"contact_settings": {"unified_contact_id_enabled": True}})
    assert on.status_code == 200, on.text
    assert on.json() == view(project_id, True)
    # Absent objects are kept; a PATCH with no body changes nothing.
    assert api.patch("/settings", json={}).json() == view(project_id, True)
    assert api.patch("/settings").json() == view(project_id, True)
    # With a mask, a masked object absent from the body goes back to its defaults.
    reset = api.patch("/settings", params={"update_mask": "contact_settings"}, json={})
    assert reset.json() == view(project_id, False)
    masked = api.patch(
        "/settings",
        params={"update_mask": "contact_settings.unified_contact_id_enabled"},
        json={"contact_settings": {"unified_contact_id_enabled": True}},
    )
    assert masked.json() == view(project_id, True)
    # A sub-field named with a body that leaves it out goes back to its default.
    masked_off = api.patch(
        "/settings",
        params={"update_mask": "contact_settings.unified_contact_id_enabled"},
        json={},
    )
    assert masked_off.json() == view(project_id, False)
    assert_error(
        api.patch("/settings", params={"update_mask": "display_name"}, json={}),
        400,
        field="update_mask",
    )
    assert_error(
        api.patch("/settings", json={"contact_settings": {"unified_contact_id_enabled": "yes"}}),
        400,
        field="contact_settings.unified_contact_id_enabled",
    )
    assert_error(api.post("/settings", content=b"[]"), 400, "INVALID_ARGUMENT")

    deleted = api.delete("/settings")
    assert deleted.status_code == 200 and deleted.json() == {}
    assert_error(api.get("/settings"), 404)
    again = api.post("/settings", json={"contact_settings": {"unified_contact_id_enabled": True}})
    assert again.json() == view(project_id, True)


def test_unified_contact_ids_need_a_project_without_identity_conflicts(
    fresh: tuple[httpx.Client, str],
) -> None:
    api, project_id = fresh
    for name in ("Ann", "Ann again"):
        response = api.post(
            "/contacts",
            json={
                "display_name": name,
                "channel_identities": [{"channel": "SMS", "identity": "46701112233"}],
            },
        )
        assert response.status_code == 200, response.text
    assert api.get("/contacts:identityConflicts").json()["conflicts"]
    unified = {"contact_settings": {"unified_contact_id_enabled": True}}
    assert_error(api.post("/settings", json=unified), 400, "FAILED_PRECONDITION")
    assert_error(api.get("/settings"), 404)  # nothing was created
    assert api.post("/settings", json={}).json() == view(project_id, False)
    assert_error(api.patch("/settings", json=unified), 400, "FAILED_PRECONDITION")
    assert api.get("/settings").json() == view(project_id, False)


def test_settings_belong_to_their_project(server: Server, fresh: tuple[httpx.Client, str]) -> None:
    api, project_id = fresh
    assert api.post("/settings", json={}).status_code == 200
    with server.client() as main:
        # The key of one project cannot touch another's settings.
        theirs = f"{server.url}/v1/projects/{project_id}/settings"
        assert_error(main.get(theirs), 403, "PERMISSION_DENIED")


@pytest.mark.parametrize("unified", [True, False])
def test_unified_contact_ids_make_one_contact_of_a_phone_number(
    server: Server, fresh: tuple[httpx.Client, str], unified: bool
) -> None:
    api, _ = fresh
    settings = {"contact_settings": {"unified_contact_id_enabled": unified}}
    assert api.post("/settings", json=settings).status_code == 200
    app_id = consent_app(api, "SMS", "RCS")
    number = msisdn()
    handset_writes(server, "RCS", number, app_id, "hello over RCS")
    handset_writes(server, "SMS", number, app_id, "hello over SMS")
    inbound = wait_for_payloads(server, app_id, "message", 2)
    contact_ids = {m["channel_identity"]["channel"]: m["contact_id"] for m in inbound}
    if unified:
        assert contact_ids["RCS"] == contact_ids["SMS"]
        contact = api.get(f"/contacts/{contact_ids['SMS']}").json()
        assert sorted((i["channel"], i["identity"]) for i in contact["channel_identities"]) == [
            ("RCS", number),
            ("SMS", number),
        ]
        # The contact gained the SMS identity: announced as an update.
        updated = [
            c["contact"]
            for c in payloads(server, app_id, "contact_update_notification")
            if c["contact"]["id"] == contact["id"]
        ]
        assert [u["channel_identities"] for u in updated] == [contact["channel_identities"]]
    else:
        assert contact_ids["RCS"] != contact_ids["SMS"]


def test_with_unified_contact_ids_an_api_contact_cannot_take_anothers_number(
    fresh: tuple[httpx.Client, str],
) -> None:
    api, _ = fresh
    unified = {"contact_settings": {"unified_contact_id_enabled": True}}
    assert api.post("/settings", json=unified).status_code == 200
    number = msisdn()
    ann = api.post(
        "/contacts", json={"channel_identities": [{"channel": "RCS", "identity": number}]}
    ).json()

    bob = {
        "channel_identities": [
            {"channel": "WHATSAPP", "identity": number},  # not a SIM channel: allowed
            {"channel": "SMS", "identity": f"+{number}"},
        ]
    }
    refused = api.post("/contacts", json=bob)
    assert_error(refused, 400, field="channel_identities[1].identity")
    assert ann["id"] in refused.text  # names the contact that holds the number

    other = api.post(
        "/contacts", json={"channel_identities": [{"channel": "WHATSAPP", "identity": number}]}
    ).json()
    moved = api.patch(
        f"/contacts/{other['id']}",
        json={"channel_identities": [{"channel": "MMS", "identity": number}]},
    )
    assert_error(moved, 400, field="channel_identities[0].identity")
    # The holder itself may add the number on another SIM channel.
    kept = api.patch(
        f"/contacts/{ann['id']}",
        json={
            "channel_identities": [
                {"channel": "RCS", "identity": number},
                {"channel": "SMS", "identity": number},
            ]
        },
    )
    assert kept.status_code == 200, kept.text
    assert api.get("/contacts:identityConflicts").json()["conflicts"] == []
