"""Contacts over HTTP (API.md §4): identities, priority, filters, paging, merge, conflicts."""

import base64
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from chorus.kit.pagination import filters_fingerprint
from tests.integration.helpers import assert_error, new_app, recording_webhook, wait_for


def sms(number: str) -> dict[str, str]:
    return {"channel": "SMS", "identity": number}


def number() -> str:
    return "4670" + str(uuid.uuid4().int)[:7]


def test_create_applies_defaults_and_normalises_msisdn(api: httpx.Client) -> None:
    phone = number()
    contact = api.post("/contacts", json={"channel_identities": [sms("+" + phone)]}).json()
    assert contact["channel_identities"] == [sms(phone)]
    assert contact["channel_priority"] == ["SMS"]
    assert contact["display_name"] == "Unknown"
    assert contact["language"] == "UNSPECIFIED"
    assert "email" not in contact and "metadata" not in contact
    assert api.get(f"/contacts/{contact['id']}").json() == contact


def test_app_scoped_identity_needs_an_app_of_the_project(api: httpx.Client) -> None:
    response = api.post(
        "/contacts", json={"channel_identities": [{"channel": "MESSENGER", "identity": "psid-1"}]}
    )
    assert_error(response, 400, "INVALID_ARGUMENT", field="channel_identities[0].app_id")
    app = new_app(api)
    created = api.post(
        "/contacts",
        json={"channel_identities": [{"channel": "MESSENGER", "identity": "p", "app_id": app}]},
    )
    assert created.status_code == 200
    assert created.json()["channel_identities"][0]["app_id"] == app
    # On any channel, a given app_id names an app of the project.
    unknown = {"channel": "SMS", "identity": number(), "app_id": "no-such-app"}
    response = api.post("/contacts", json={"channel_identities": [unknown]})
    assert_error(response, 400, "INVALID_ARGUMENT", field="channel_identities[0].app_id")
    known = {**unknown, "app_id": app}
    echoed = api.post("/contacts", json={"channel_identities": [known]}).json()
    assert echoed["channel_identities"][0]["app_id"] == app


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "channel_identities"),
        ({"channel_identities": []}, "channel_identities"),
        (
            {"channel_identities": [{"channel": "PIGEON", "identity": "1"}]},
            "channel_identities[0].channel",
        ),
        (
            {"channel_identities": [{"channel": "SMS", "identity": ""}]},
            "channel_identities[0].identity",
        ),
        ({"channel_identities": [sms("46700000001")], "metadata": "x" * 1025}, "metadata"),
        ({"channel_identities": [sms("46700000001")], "email": "nope"}, "email"),
        ({"channel_identities": [sms("46700000001")], "language": "KLINGON"}, "language"),
        (
            {"channel_identities": [sms("46700000001")], "channel_priority": ["WHATSAPP"]},
            "channel_priority[0]",
        ),
        (
            {"channel_identities": [sms("46700000001"), sms("+46700000001")]},
            "channel_identities[1]",
        ),
    ],
)
def test_create_refuses_bad_fields_naming_them(api: httpx.Client, body: dict, field: str) -> None:
    assert_error(api.post("/contacts", json=body), 400, "INVALID_ARGUMENT", field=field)


def test_update_with_mask_clears_and_without_mask_replaces(api: httpx.Client) -> None:
    contact = api.post(
        "/contacts",
        json={
            "channel_identities": [sms(number())],
            "email": "a@b.c",
            "metadata": "m",
            "display_name": "Ada",
        },
    ).json()
    path = f"/contacts/{contact['id']}"
    updated = api.patch(
        path,
        params={"update_mask": "email,display_name"},
        json={"display_name": "Bea", "metadata": "ignored"},
    ).json()
    assert updated["display_name"] == "Bea"
    assert "email" not in updated
    assert updated["metadata"] == "m"
    updated = api.patch(path, json={"metadata": "n", "language": "EN_GB"}).json()
    assert (updated["metadata"], updated["language"], updated["display_name"]) == (
        "n",
        "EN_GB",
        "Bea",
    )
    assert_error(
        api.patch(path, params={"update_mask": "nonsense"}, json={}), 400, field="update_mask"
    )
    assert_error(api.patch(path, json={"channel_identities": []}), 400, field="channel_identities")
    # A dotted path below a field without sub-fields names nothing: refused, not a clearing
    # of the field it starts with.
    assert_error(
        api.patch(path, params={"update_mask": "metadata.x"}, json={"display_name": "Q"}),
        400,
        field="update_mask",
    )
    assert api.get(path).json()["metadata"] == "n"
    # An empty mask is no mask (AIP-134): the fields the body gives change.
    emptied = api.patch(path, params={"update_mask": ""}, json={"display_name": "Cy"}).json()
    assert (emptied["display_name"], emptied["metadata"]) == ("Cy", "n")


def test_list_pages_through_every_contact(server, api: httpx.Client) -> None:
    with server.client(server.other) as other:
        for _ in range(13):
            assert (
                other.post("/contacts", json={"channel_identities": [sms(number())]}).status_code
                == 200
            )
        seen: list[str] = []
        token = ""
        pages = 0
        while True:
            page = other.get("/contacts", params={"page_size": 5, "page_token": token}).json()
            seen += [c["id"] for c in page["contacts"]]
            pages += 1
            token = page["next_page_token"]
            if not token:
                break
        assert len(seen) == len(set(seen)) >= 13
        assert seen == sorted(seen)
        assert pages >= 3


def test_list_filters(api: httpx.Client) -> None:
    phone = number()
    external = f"crm {uuid.uuid4().hex[:6]}"
    contact = api.post(
        "/contacts", json={"channel_identities": [sms(phone)], "external_id": external}
    ).json()
    # A raw "+" (the Node SDK does not encode it) must stay a plus.
    raw = api.get(f"/contacts?channel=SMS&identity=+{phone}").json()
    assert [c["id"] for c in raw["contacts"]] == [contact["id"]]
    assert raw["next_page_token"] == ""
    by_external = api.get("/contacts", params={"external_id": external}).json()
    assert [c["id"] for c in by_external["contacts"]] == [contact["id"]]
    # Python's SDK sends the space as "+".
    plus = api.get(f"/contacts?external_id={external.replace(' ', '+')}").json()
    assert [c["id"] for c in plus["contacts"]] == [contact["id"]]
    assert api.get("/contacts", params={"external_id": "nobody"}).json() == {
        "contacts": [],
        "next_page_token": "",
    }
    assert_error(api.get("/contacts", params={"channel": "SMS"}), 400, field="identity")
    assert_error(
        api.get("/contacts", params={"external_id": "x", "channel": "SMS", "identity": "1"}),
        400,
        field="external_id",
    )
    assert_error(api.get("/contacts", params={"page_size": 21}), 400, field="page_size")
    assert_error(api.get("/contacts", params={"page_token": "garbage!"}), 400, field="page_token")


def test_a_hand_made_page_token_of_the_wrong_shape_is_a_400(api: httpx.Client) -> None:
    """Tokens are not signed: one built with the right fingerprint may carry any JSON key."""

    def forged(key: object, **filters: object) -> str:
        raw = json.dumps({"k": key, "f": filters_fingerprint(filters)}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    for key in ({"a": 1}, [1, 2], True, 7):
        for path, filters in (
            ("/contacts", {"external_id": None, "channel": None, "identity": None}),
            ("/contacts:identityConflicts", {}),
        ):
            token = forged(key, **filters)
            assert_error(api.get(path, params={"page_token": token}), 400, field="page_token")


def test_page_token_is_bound_to_its_filters(api: httpx.Client) -> None:
    for _ in range(3):
        api.post("/contacts", json={"channel_identities": [sms(number())]})
    token = api.get("/contacts", params={"page_size": 1}).json()["next_page_token"]
    assert token
    assert_error(
        api.get("/contacts", params={"page_size": 1, "page_token": token, "external_id": "x"}),
        400,
        field="page_token",
    )


def test_merge_moves_only_missing_channels(api: httpx.Client) -> None:
    app = new_app(api)
    destination = api.post(
        "/contacts",
        json={"channel_identities": [sms(number())], "display_name": "Unknown"},
    ).json()
    source = api.post(
        "/contacts",
        json={
            "channel_identities": [
                sms(number()),
                {"channel": "MESSENGER", "identity": "psid", "app_id": app},
                {"channel": "WHATSAPP", "identity": number()},
            ],
            "channel_priority": ["WHATSAPP", "MESSENGER", "SMS"],
            "display_name": "Ada",
            "email": "ada@example.com",
            "language": "EN_GB",
        },
    ).json()
    conversation = api.post(
        "/conversations", json={"app_id": app, "contact_id": source["id"]}
    ).json()
    merged = api.post(f"/contacts/{destination['id']}:merge", json={"source_id": source["id"]})
    assert merged.status_code == 200, merged.text
    merged = merged.json()
    channels = [i["channel"] for i in merged["channel_identities"]]
    assert channels == ["SMS", "MESSENGER", "WHATSAPP"]
    assert merged["channel_identities"][0] == destination["channel_identities"][0]
    assert merged["channel_priority"] == ["SMS", "WHATSAPP", "MESSENGER"]
    assert (merged["display_name"], merged["email"], merged["language"]) == (
        "Ada",
        "ada@example.com",
        "EN_GB",
    )
    assert_error(api.get(f"/contacts/{source['id']}"), 404, "NOT_FOUND")
    assert api.get(f"/conversations/{conversation['id']}").json()["contact_id"] == destination["id"]


def test_merge_keeps_the_sources_messages_and_events_under_the_destination(
    api: httpx.Client,
) -> None:
    """API.md §4.4 steps 1–2: where both contacts have an active conversation in one app,
    the source's messages and events move into the destination's (they were deleted with
    the source's conversation); in an app where only the source has one, that conversation
    moves; every message and event of the source now names the destination."""
    shared, other = new_app(api), new_app(api)
    destination, source = (
        api.post("/contacts", json={"channel_identities": [sms(number())]}).json()["id"]
        for _ in range(2)
    )

    def conversation(app: str, contact: str) -> str:
        response = api.post("/conversations", json={"app_id": app, "contact_id": contact})
        assert response.status_code == 200, response.text
        return response.json()["id"]

    kept, folded, moved = (
        conversation(shared, destination),
        conversation(shared, source),
        conversation(other, source),
    )
    source_number = api.get(f"/contacts/{source}").json()["channel_identities"][0]["identity"]
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    for conversation_id, text in ((folded, "in the folded"), (moved, "in the moved")):
        injected = api.post(
            f"/conversations/{conversation_id}:inject-message",
            json={
                "app_message": {"text_message": {"text": text}},
                "direction": "TO_CONTACT",
                "channel_identity": sms(source_number),
                "contact_id": source,
                "accept_time": an_hour_ago,
            },
        )
        assert injected.status_code == 200, injected.text
        event = api.post(
            f"/conversations/{conversation_id}:inject-event",
            json={
                "app_event": {"composing_event": {}},
                "channel_identity": sms(source_number),
                "contact_id": source,
                "accept_time": an_hour_ago,
            },
        )
        assert event.status_code == 200, event.text

    merged = api.post(f"/contacts/{destination}:merge", json={"source_id": source})
    assert merged.status_code == 200, merged.text

    def texts(**filters: str) -> list[tuple[str, str, str]]:
        found = api.get("/messages", params=filters).json()["messages"]
        return sorted(
            (m["app_message"]["text_message"]["text"], m["conversation_id"], m["contact_id"])
            for m in found
        )

    assert texts(contact_id=destination) == [
        ("in the folded", kept, destination),
        ("in the moved", moved, destination),
    ]
    assert texts(conversation_id=kept) == [("in the folded", kept, destination)]
    assert_error(api.get(f"/conversations/{folded}"), 404, "NOT_FOUND")
    assert api.get(f"/conversations/{moved}").json()["contact_id"] == destination
    events = api.get("/events", params={"contact_id": destination}).json()["events"]
    assert sorted((e["conversation_id"], e["contact_id"]) for e in events) == sorted(
        [(kept, destination), (moved, destination)]
    )
    assert api.get("/events", params={"contact_id": source}).json()["events"] == []


def test_merges_at_once_that_share_contacts_lose_nothing(server, api: httpx.Client) -> None:
    """A ring of merges sent together (each contact into the one before it): each answers
    200 or, when one of its contacts was merged away meanwhile, 404 — never a 500 (on
    PostgreSQL one merge moved identities onto a contact another was deleting) — and each
    merge that answered 200 took away exactly one contact."""
    tag = uuid.uuid4().hex[:8]
    numbers = [f"+4670{uuid.uuid4().int % 10**7:07d}" for _ in range(6)]
    ids = [
        api.post(
            "/contacts",
            json={
                "channel_identities": [{"channel": "SMS", "identity": number}],
                "language": "EN_US",
                "external_id": f"ring-{tag}",
            },
        ).json()["id"]
        for number in numbers
    ]

    def merge(index: int) -> int:
        with server.client() as client:
            destination, source = ids[index], ids[(index + 1) % len(ids)]
            response = client.post(f"/contacts/{destination}:merge", json={"source_id": source})
            return response.status_code

    with ThreadPoolExecutor(len(ids)) as pool:
        codes = list(pool.map(merge, range(len(ids))))
    assert set(codes) <= {200, 404}, codes
    assert 200 in codes
    left = api.get("/contacts", params={"external_id": f"ring-{tag}", "page_size": 20}).json()
    assert len(left["contacts"]) == len(ids) - codes.count(200)
    # All SMS: a merge keeps the destination's own number (API.md §4.4, step 3).
    for contact in left["contacts"]:
        assert [i["channel"] for i in contact["channel_identities"]] == ["SMS"]
        assert "+" + contact["channel_identities"][0]["identity"] in numbers


def test_merge_errors(api: httpx.Client) -> None:
    contact = api.post("/contacts", json={"channel_identities": [sms(number())]}).json()
    assert_error(
        api.post(f"/contacts/{contact['id']}:merge", json={"source_id": contact["id"]}),
        400,
        field="source_id",
    )
    assert_error(api.post(f"/contacts/{contact['id']}:merge", json={"source_id": "nope"}), 404)
    assert_error(api.post("/contacts/nope:merge", json={"source_id": contact["id"]}), 404)
    assert_error(api.post(f"/contacts/{contact['id']}:merge", json={}), 400, field="source_id")
    assert_error(
        api.post(
            f"/contacts/{contact['id']}%3Amerge", json={"source_id": "x", "strategy": "SQUASH"}
        ),
        400,
        field="strategy",
    )


def test_duplicate_identities_are_conflicts_not_errors(server, api: httpx.Client) -> None:
    app = new_app(api)
    recording_webhook(api, app)
    phone = number()
    first = api.post("/contacts", json={"channel_identities": [sms(phone)]}).json()
    second = api.post("/contacts", json={"channel_identities": [sms(phone)]})
    assert second.status_code == 200
    third = api.post(
        "/contacts", json={"channel_identities": [{"channel": "RCS", "identity": phone}]}
    ).json()
    conflicts = []
    token = ""
    while True:
        page = api.get(
            "/contacts:identityConflicts", params={"page_size": 2, "page_token": token}
        ).json()
        conflicts += page["conflicts"]
        token = page["next_page_token"]
        if not token:
            break
    mine = [c for c in conflicts if c["identity"] == phone]
    assert mine == [
        {
            "identity": phone,
            "channels": ["RCS", "SMS"],
            "contact_ids": sorted([first["id"], second.json()["id"], third["id"]]),
        }
    ]
    expected = {"channel": "SMS", "contact_ids": sorted([first["id"], second.json()["id"]])}

    def announced() -> list[dict]:
        return [
            c
            for c in server.recorded_callbacks(app)
            if c["trigger"] == "CONTACT_IDENTITIES_DUPLICATION"
            and expected in c["duplicated_contact_identities_notification"]["duplicated_identities"]
        ]

    callback = wait_for(announced, what="the duplication callback")[0]
    assert expected in callback["duplicated_identities"], "Decision 6's top-level copy"


def test_lifecycle_events_reach_every_app_of_the_project(server, api: httpx.Client) -> None:
    apps = [new_app(api), new_app(api)]
    for app in apps:
        recording_webhook(api, app)
    contact = api.post("/contacts", json={"channel_identities": [sms(number())]}).json()
    api.patch(f"/contacts/{contact['id']}", json={"display_name": "Z"})
    api.delete(f"/contacts/{contact['id']}")
    for app in apps:

        def mine(app: str = app) -> list[dict]:
            found = [c for c in server.recorded_callbacks(app) if contact["id"] in json.dumps(c)]
            return found if len(found) >= 3 else []

        events = wait_for(mine, what="three contact callbacks")
        assert [e["trigger"] for e in events] == [
            "CONTACT_CREATE",
            "CONTACT_UPDATE",
            "CONTACT_DELETE",
        ]
        assert events[0]["contact_create_notification"]["contact"] == contact
        assert events[1]["contact_update_notification"]["contact"]["display_name"] == "Z"
        assert events[2]["app_id"] == app


def test_channel_profile_validation(api: httpx.Client) -> None:
    app = new_app(api)
    contact = api.post("/contacts", json={"channel_identities": [sms(number())]}).json()
    path = "/contacts:getChannelProfile"
    assert_error(
        api.post(
            path, json={"app_id": app, "channel": "SMS", "recipient": {"contact_id": contact["id"]}}
        ),
        400,
        field="channel",
    )
    assert_error(
        api.post(path, json={"app_id": app, "channel": "MESSENGER", "recipient": {}}),
        400,
        field="recipient",
    )
    assert_error(
        api.post(
            path,
            json={
                "app_id": app,
                "channel": "MESSENGER",
                "recipient": {"contact_id": contact["id"]},
            },
        ),
        404,
    )
    assert_error(
        api.post(
            path,
            json={
                "app_id": "nope",
                "channel": "MESSENGER",
                "recipient": {"contact_id": contact["id"]},
            },
        ),
        400,
        field="app_id",
    )
    assert_error(
        api.post(
            path,
            json={
                "app_id": app,
                "channel": "MESSENGER",
                "recipient": {"identified_by": {"channel_identities": [sms("1")]}},
            },
        ),
        400,
        field="recipient.identified_by.channel_identities",
    )


def test_unknown_and_foreign_contacts(server, api: httpx.Client) -> None:
    assert_error(api.get("/contacts/does-not-exist"), 404, "NOT_FOUND")
    with server.client(server.other) as other:
        foreign = other.post("/contacts", json={"channel_identities": [sms(number())]}).json()
    assert_error(api.get(f"/contacts/{foreign['id']}"), 404, "NOT_FOUND")
    assert_error(api.delete(f"/contacts/{foreign['id']}"), 404, "NOT_FOUND")
