"""Conversations over HTTP (API.md §5): create, get, list, recent, update, stop, delete."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from chorus.models import Conversation
from tests.integration.helpers import assert_error, new_app, recording_webhook, wait_for

EPOCH = "1970-01-01T00:00:00.000000Z"


def new_contact(api: httpx.Client) -> str:
    phone = "4670" + str(uuid.uuid4().int)[:7]
    response = api.post(
        "/contacts", json={"channel_identities": [{"channel": "SMS", "identity": phone}]}
    )
    assert response.status_code == 200, response.text
    return response.json()["id"]


def start(api: httpx.Client, app_id: str, contact_id: str, **fields: Any) -> dict[str, Any]:
    response = api.post(
        "/conversations", json={"app_id": app_id, "contact_id": contact_id, **fields}
    )
    assert response.status_code == 200, response.text
    return response.json()


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def collect(api: httpx.Client, path: str, **params: Any) -> tuple[list[dict[str, Any]], list[int]]:
    """Every element of a paged list, and the size of each page."""
    items: list[dict[str, Any]] = []
    sizes: list[int] = []
    token = ""
    while True:
        response = api.get(path, params={**params, **({"page_token": token} if token else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["conversations"]
        sizes.append(len(page["conversations"]))
        token = page["next_page_token"]
        if not token:
            return items, sizes


def set_last_received(server, conversation_id: str, moment: datetime) -> None:
    """Messages do not exist yet to move `last_received`; write it the way they will."""
    engine = sa.create_engine(server.database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(last_received=moment)
            )
    finally:
        engine.dispose()


def lifecycle_events(server, app_id: str, conversation_id: str, count: int) -> list[dict[str, Any]]:
    """The conversation's lifecycle callbacks recorded for the app, once `count` are there."""

    def found() -> list[dict[str, Any]]:
        events = [
            c
            for c in server.recorded_callbacks(app_id)
            if c["trigger"].startswith("CONVERSATION_")
            and next(v for k, v in c.items() if k.endswith("_notification"))["conversation"]["id"]
            == conversation_id
        ]
        return events if len(events) >= count else []

    return found() if count == 0 else wait_for(found, what=f"{count} lifecycle callbacks")


# ---------------------------------------------------------------- create and get


def test_create_applies_defaults_and_reports_the_epoch(api: httpx.Client) -> None:
    app_id, contact_id = new_app(api), new_contact(api)
    created = start(api, app_id, contact_id, id="ignored", last_received="2020-01-01T00:00:00Z")
    assert created == {
        "id": created["id"],
        "app_id": app_id,
        "contact_id": contact_id,
        "active": True,
        "last_received": EPOCH,
    }
    assert len(created["id"]) == 26 and created["id"] != "ignored"
    assert api.get(f"/conversations/{created['id']}").json() == created


def test_create_stores_every_settable_field(api: httpx.Client) -> None:
    created = start(
        api,
        new_app(api),
        new_contact(api),
        active_channel="WHATSAPP",
        metadata="plain",
        metadata_json={"tier": "gold", "n": [1, 2]},
        correlation_id="corr-1",
    )
    assert created["active_channel"] == "WHATSAPP"
    assert created["metadata"] == "plain"
    assert created["metadata_json"] == {"tier": "gold", "n": [1, 2]}
    assert created["correlation_id"] == "corr-1"
    assert api.get(f"/conversations/{created['id']}").json() == created


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"app_id": None}, "app_id"),
        ({"app_id": "NO-SUCH-APP"}, "app_id"),
        ({"contact_id": None}, "contact_id"),
        ({"contact_id": "NO-SUCH-CONTACT"}, "contact_id"),
        ({"metadata_json": ["not", "an", "object"]}, "metadata_json"),
        ({"metadata_json": "text"}, "metadata_json"),
        ({"metadata_json": {"k": "x" * 2048}}, "metadata_json"),
        ({"metadata": "x" * 1025}, "metadata"),
        ({"correlation_id": "x" * 129}, "correlation_id"),
        ({"active_channel": "FAX"}, "active_channel"),
    ],
)
def test_create_refuses_bad_fields_naming_them(
    api: httpx.Client, fields: dict[str, Any], field: str
) -> None:
    body = {"app_id": new_app(api), "contact_id": new_contact(api), **fields}
    body = {key: value for key, value in body.items() if value is not None}
    assert_error(api.post("/conversations", json=body), 400, "INVALID_ARGUMENT", field=field)


def test_second_active_conversation_is_409_naming_the_first(api: httpx.Client) -> None:
    app_id, contact_id = new_app(api), new_contact(api)
    first = start(api, app_id, contact_id)
    error = assert_error(
        api.post("/conversations", json={"app_id": app_id, "contact_id": contact_id}),
        409,
        "ALREADY_EXISTS",
    )
    info = [d for d in error["details"] if d["@type"].endswith("ResourceInfo")]
    assert info[0]["resource_type"] == "conversation"
    assert info[0]["resource_name"] == first["id"]
    # An inactive one may sit beside it.
    assert start(api, app_id, contact_id, active=False)["active"] is False


def test_dispatch_apps_have_no_conversations(api: httpx.Client) -> None:
    app_id = new_app(api, processing_mode="DISPATCH")
    response = api.post("/conversations", json={"app_id": app_id, "contact_id": new_contact(api)})
    assert_error(response, 400, "FAILED_PRECONDITION")
    assert_error(
        api.get("/conversations:recent", params={"app_id": app_id}), 400, "FAILED_PRECONDITION"
    )


# ---------------------------------------------------------------- list


def test_list_pages_ascending_with_total_size(api: httpx.Client) -> None:
    app_id, contact_id = new_app(api), new_contact(api)
    mine = [start(api, app_id, contact_id, active=False) for _ in range(6)]
    mine.append(start(api, app_id, contact_id))
    others = [start(api, app_id, new_contact(api)) for _ in range(5)]

    items, sizes = collect(api, "/conversations", contact_id=contact_id, page_size=3)
    assert ids(items) == sorted(ids(mine))
    assert sizes == [3, 3, 1]
    first = api.get("/conversations", params={"contact_id": contact_id, "page_size": 3}).json()
    assert first["total_size"] == 7

    items, sizes = collect(api, "/conversations", app_id=app_id)
    assert ids(items) == sorted(ids(mine + others))
    assert sizes == [10, 2], "page_size defaults to 10"
    by_app = api.get("/conversations", params={"app_id": app_id}).json()
    second = api.get(
        "/conversations", params={"app_id": app_id, "page_token": by_app["next_page_token"]}
    ).json()
    assert by_app["total_size"] == second["total_size"] == 12, "every match, not the page"
    assert second["next_page_token"] == ""


def test_list_page_size_and_token_rules(api: httpx.Client) -> None:
    app_id, contact_id = new_app(api), new_contact(api)
    for _ in range(3):
        start(api, app_id, contact_id, active=False)
    assert_error(
        api.get("/conversations", params={"app_id": app_id, "page_size": 21}),
        400,
        "INVALID_ARGUMENT",
        field="page_size",
    )
    assert api.get("/conversations", params={"app_id": app_id, "page_size": 20}).status_code == 200
    token = api.get("/conversations", params={"app_id": app_id, "page_size": 1}).json()[
        "next_page_token"
    ]
    assert token
    assert_error(
        api.get(
            "/conversations",
            params={"app_id": app_id, "only_active": "true", "page_size": 1, "page_token": token},
        ),
        400,
        "INVALID_ARGUMENT",
        field="page_token",
    )
    assert_error(
        api.get("/conversations", params={"app_id": app_id, "page_token": "garbage!"}),
        400,
        field="page_token",
    )


def test_list_filters(api: httpx.Client) -> None:
    app_id, other_app = new_app(api), new_app(api)
    contact_id = new_contact(api)
    stopped = start(api, app_id, contact_id, active=False, active_channel="SMS")
    active = start(api, app_id, contact_id, active_channel="WHATSAPP")
    elsewhere = start(api, other_app, contact_id)

    def listed(**params: Any) -> list[str]:
        response = api.get("/conversations", params=params)
        assert response.status_code == 200, response.text
        return ids(response.json()["conversations"])

    assert listed(contact_id=contact_id) == sorted(ids([stopped, active, elsewhere]))
    assert listed(app_id=app_id, contact_id=contact_id) == sorted(ids([stopped, active]))
    for spelling in ("true", "True"):
        assert listed(app_id=app_id, only_active=spelling) == [active["id"]]
    for spelling in ("false", "False"):
        assert listed(app_id=app_id, only_active=spelling) == sorted(ids([stopped, active]))
    assert listed(contact_id=contact_id, active_channel="SMS") == [stopped["id"]]
    assert listed(app_id=app_id, active_channel="MESSENGER") == []
    assert_error(api.get("/conversations"), 400, "INVALID_ARGUMENT", field="app_id")
    assert_error(
        api.get("/conversations", params={"app_id": app_id, "active_channel": "FAX"}),
        400,
        field="active_channel",
    )
    assert_error(
        api.get("/conversations", params={"app_id": app_id, "only_active": "maybe"}),
        400,
        field="only_active",
    )


# ---------------------------------------------------------------- recent


def test_recent_orders_by_last_received_then_id(server, api: httpx.Client) -> None:
    app_id = new_app(api)
    conversations = [start(api, app_id, new_contact(api)) for _ in range(5)]
    base = datetime(2024, 6, 4, 13, 7, 44, 123456, tzinfo=UTC)
    # [0] and [1] never received anything (epoch); [2] is oldest, [4] newest, [3] ties [4].
    set_last_received(server, conversations[2]["id"], base)
    set_last_received(server, conversations[3]["id"], base + timedelta(minutes=5))
    set_last_received(server, conversations[4]["id"], base + timedelta(minutes=5))
    c = ids(conversations)
    expected_desc = [c[4], c[3], c[2], c[1], c[0]]

    page = api.get("/conversations:recent", params={"app_id": app_id}).json()
    assert [e["conversation"]["id"] for e in page["conversations"]] == expected_desc
    assert page["total_size"] == 5
    assert page["next_page_token"] == ""
    assert page["conversations"][0]["conversation"]["last_received"] == (
        "2024-06-04T13:12:44.123456Z"
    )
    assert page["conversations"][-1]["conversation"]["last_received"] == EPOCH
    assert all(set(e) == {"conversation"} for e in page["conversations"])

    items, sizes = collect(api, "/conversations:recent", app_id=app_id, page_size=2)
    assert [e["conversation"]["id"] for e in items] == expected_desc
    assert sizes == [2, 2, 1]
    items, _ = collect(api, "/conversations:recent", app_id=app_id, page_size=2, order="ASC")
    assert [e["conversation"]["id"] for e in items] == expected_desc[::-1]

    # The colon may arrive percent-encoded.
    encoded = api.get("/conversations%3Arecent", params={"app_id": app_id})
    assert encoded.status_code == 200, encoded.text
    assert encoded.json() == page


def test_recent_parameters(api: httpx.Client) -> None:
    app_id, contact_id = new_app(api), new_contact(api)
    start(api, app_id, contact_id, active=False)
    active = start(api, app_id, contact_id)
    only = api.get("/conversations:recent", params={"app_id": app_id, "only_active": "True"})
    assert [e["conversation"]["id"] for e in only.json()["conversations"]] == [active["id"]]
    assert only.json()["total_size"] == 1

    assert_error(api.get("/conversations:recent"), 400, "INVALID_ARGUMENT", field="app_id")
    assert_error(
        api.get("/conversations:recent", params={"app_id": app_id, "page_size": 51}),
        400,
        field="page_size",
    )
    assert_error(
        api.get("/conversations:recent", params={"app_id": app_id, "order": "SIDEWAYS"}),
        400,
        field="order",
    )
    token = api.get("/conversations:recent", params={"app_id": app_id, "page_size": 1}).json()[
        "next_page_token"
    ]
    assert_error(
        api.get(
            "/conversations:recent",
            params={"app_id": app_id, "page_size": 1, "order": "ASC", "page_token": token},
        ),
        400,
        field="page_token",
    )
    fifty = api.get("/conversations:recent", params={"app_id": app_id, "page_size": 50})
    assert fifty.status_code == 200


# ---------------------------------------------------------------- update


def test_update_metadata_json_with_each_strategy(api: httpx.Client) -> None:
    conversation = start(api, new_app(api), new_contact(api), metadata_json={"old": True})
    path = f"/conversations/{conversation['id']}"

    replaced = api.patch(
        path,
        params={"update_mask": "metadata_json", "metadata_update_strategy": "REPLACE"},
        json={"metadata_json": {"tier": "gold", "nested": {"a": 1, "b": 2}}},
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["metadata_json"] == {"tier": "gold", "nested": {"a": 1, "b": 2}}

    patched = api.patch(
        path,
        params={"metadata_update_strategy": "MERGE_PATCH"},
        json={"metadata_json": {"tier": None, "nested": {"b": 3, "c": 4}}},
    ).json()
    assert patched["metadata_json"] == {"nested": {"a": 1, "b": 3, "c": 4}}

    # The Node SDK always sends REPLACE: an update without metadata_json leaves it alone.
    correlated = api.patch(
        path,
        params={"metadata_update_strategy": "REPLACE"},
        json={"correlation_id": "corr-9", "metadata": "plain"},
    ).json()
    assert correlated["correlation_id"] == "corr-9"
    assert correlated["metadata"] == "plain"
    assert correlated["metadata_json"] == {"nested": {"a": 1, "b": 3, "c": 4}}
    assert api.get(path).json() == correlated

    # The limit holds on the merged result.
    big = api.patch(
        path,
        params={"metadata_update_strategy": "MERGE_PATCH"},
        json={"metadata_json": {"filler": "x" * 2020}},
    )
    assert_error(big, 400, "INVALID_ARGUMENT", field="metadata_json")
    assert_error(
        api.patch(path, params={"metadata_update_strategy": "SHUFFLE"}, json={}),
        400,
        field="metadata_update_strategy",
    )
    assert_error(api.patch(path, json={"metadata_json": [1]}), 400, field="metadata_json")
    assert api.get(path).json() == correlated


def test_update_mask_rules(api: httpx.Client) -> None:
    app_id = new_app(api)
    conversation = start(
        api, app_id, new_contact(api), metadata="m", metadata_json={"k": 1}, active_channel="SMS"
    )
    path = f"/conversations/{conversation['id']}"

    for read_only in ("active", "app_id", "contact_id", "last_received"):
        assert_error(
            api.patch(path, params={"update_mask": read_only}, json={}),
            400,
            "INVALID_ARGUMENT",
            field="update_mask",
        )

    # Without a mask, fields that cannot change are ignored.
    ignored = api.patch(
        path, json={"id": "other", "active": False, "app_id": "other", "active_channel": "RCS"}
    ).json()
    assert ignored == {**conversation, "active_channel": "RCS"}

    # A masked path absent from the body is cleared; unmasked body fields are ignored; `id`
    # in the mask is tolerated.
    cleared = api.patch(
        path,
        params={"update_mask": "id,metadata_json,active_channel"},
        json={"metadata": "ignored"},
    ).json()
    assert "metadata_json" not in cleared
    assert "active_channel" not in cleared
    assert cleared["metadata"] == "m"

    # Dotted paths are refused (metadata_json.k replaced the whole object, metadata.x
    # cleared metadata), and nothing changes.
    for dotted in ("metadata_json.k", "metadata.x"):
        assert_error(
            api.patch(path, params={"update_mask": dotted}, json={"metadata_json": {"k": 5}}),
            400,
            "INVALID_ARGUMENT",
            field="update_mask",
        )
    assert api.get(path).json() == cleared

    # The Python SDK sends no body when nothing changes.
    unchanged = api.patch(path)
    assert unchanged.status_code == 200, unchanged.text
    assert unchanged.json() == cleared


# ---------------------------------------------------------------- stop and delete


def test_stop_twice_emits_one_event_and_frees_the_pair(server, api: httpx.Client) -> None:
    app_id, contact_id = new_app(api), new_contact(api)
    recording_webhook(api, app_id)
    conversation = start(api, app_id, contact_id)
    stop = f"/conversations/{conversation['id']}:stop"
    assert api.post(stop).json() == {}
    assert api.get(f"/conversations/{conversation['id']}").json()["active"] is False
    again = api.post(stop)
    assert again.status_code == 200
    assert again.json() == {}
    assert api.post(stop.replace(":", "%3A")).json() == {}

    second = start(api, app_id, contact_id)
    assert second["active"] is True
    lifecycle_events(server, app_id, second["id"], 1)  # later occurrences are recorded too
    assert [e["trigger"] for e in lifecycle_events(server, app_id, conversation["id"], 2)] == [
        "CONVERSATION_START",
        "CONVERSATION_STOP",
    ]


def test_delete_answers_empty_and_forgets(api: httpx.Client) -> None:
    conversation = start(api, new_app(api), new_contact(api))
    path = f"/conversations/{conversation['id']}"
    assert api.delete(path).json() == {}
    assert_error(api.get(path), 404, "NOT_FOUND")
    assert_error(api.delete(path), 404, "NOT_FOUND")
    assert_error(api.post(f"{path}:stop"), 404, "NOT_FOUND")


def test_lifecycle_events_reach_the_conversations_app(server, api: httpx.Client) -> None:
    app_id, other_app = new_app(api), new_app(api)
    recording_webhook(api, app_id)
    recording_webhook(api, other_app)
    conversation = start(api, app_id, new_contact(api), metadata_json={"a": 1})
    api.post(f"/conversations/{conversation['id']}:stop")
    api.delete(f"/conversations/{conversation['id']}")
    events = lifecycle_events(server, app_id, conversation["id"], 3)
    keys = [
        "conversation_start_notification",
        "conversation_stop_notification",
        "conversation_delete_notification",
    ]
    assert [e["trigger"] for e in events] == [
        "CONVERSATION_START",
        "CONVERSATION_STOP",
        "CONVERSATION_DELETE",
    ]
    start_view, stop_view, delete_view = (
        e[k]["conversation"] for e, k in zip(events, keys, strict=True)
    )
    assert start_view == conversation
    assert stop_view == {**conversation, "active": False}
    assert delete_view == stop_view, "the deleted conversation as it was"
    assert lifecycle_events(server, other_app, conversation["id"], 0) == [], (
        "conversation events go to the conversation's app only"
    )

    # Conversations deleted with their contact (API.md Part A §4.7) are announced too.
    contact = new_contact(api)
    stopped = start(api, app_id, contact)
    api.post(f"/conversations/{stopped['id']}:stop")
    active = start(api, app_id, contact)
    assert api.delete(f"/contacts/{contact}").status_code == 200
    for gone, count in ((stopped, 3), (active, 2)):
        events = lifecycle_events(server, app_id, gone["id"], count)
        assert events[-1]["trigger"] == "CONVERSATION_DELETE"
        assert events[-1]["conversation_delete_notification"]["conversation"]["contact_id"] == (
            contact
        )

    quiet = start(api, app_id, new_contact(api), active=False)
    api.post(f"/conversations/{quiet['id']}:stop")
    later = start(api, app_id, new_contact(api))
    lifecycle_events(server, app_id, later["id"], 1)
    assert lifecycle_events(server, app_id, quiet["id"], 0) == [], (
        "no CONVERSATION_START when inactive"
    )


# ---------------------------------------------------------------- ids and projects


def test_unknown_and_foreign_conversations(server, api: httpx.Client) -> None:
    assert_error(api.get("/conversations/does-not-exist"), 404, "NOT_FOUND")
    assert_error(api.patch("/conversations/does-not-exist", json={}), 404, "NOT_FOUND")
    with server.client(server.other) as other:
        foreign = start(other, new_app(other), new_contact(other))
        # Our app and contact are not visible from the other project either.
        response = other.post(
            "/conversations", json={"app_id": new_app(api), "contact_id": new_contact(other)}
        )
        assert_error(response, 400, field="app_id")
    path = f"/conversations/{foreign['id']}"
    assert_error(api.get(path), 404, "NOT_FOUND")
    assert_error(api.patch(path, json={"metadata": "x"}), 404, "NOT_FOUND")
    assert_error(api.post(f"{path}:stop"), 404, "NOT_FOUND")
    assert_error(api.delete(path), 404, "NOT_FOUND")
    listed = api.get("/conversations", params={"app_id": foreign["app_id"]}).json()
    assert listed == {"conversations": [], "next_page_token": "", "total_size": 0}

    # Our key on the other project's path: 403.
    with httpx.Client(
        base_url=f"{server.url}/v1/projects/{server.other.project_id}",
        auth=(server.key_id, server.key_secret),
    ) as wrong:
        assert_error(wrong.get(path), 403, "PERMISSION_DENIED")
